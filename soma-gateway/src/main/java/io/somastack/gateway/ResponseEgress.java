package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.somastack.kernel.TenantId;
import io.somastack.store.GroupCommit;
import io.somastack.store.Tx;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Meters the bytes of the response bodies SomaStack sends to a tenant's clients on metered
 * routes. A route opts in with {@link #meter(Context, String)} once it knows the tenant and
 * what the response belongs to (the call's ledger id, or {@code run:<id>}); this servlet filter
 * counts the body bytes actually written and, once the body is complete (the route closed the
 * stream or returned) and before the response ends, hands them to the {@link Sink} in one
 * durable transaction. Only answers with a status below 400 are metered (see soma-metering's
 * README for what counts and why). A failure to write is logged: the bytes were sent already.
 * Installed in front of Javalin, like {@link BodyLimit}.
 *
 * <p>A buffered answer (its bytes known before they are sent) is metered with
 * {@link #meterWithCall(Context, Tx, String, byte[])} instead, inside the call's own durable unit, so
 * the call waits for one commit, not two; the filter then only checks that exactly those bytes
 * were sent.
 */
public final class ResponseEgress implements Filter {
    private static final Logger LOG = LoggerFactory.getLogger(ResponseEgress.class);
    private static final String LINK_ATTRIBUTE = "soma.egress";
    private static final String RESPONSE_ATTRIBUTE = "soma.egress.response";

    /** Where metered egress goes: soma-metering's ledger, in {@code tx}. */
    @FunctionalInterface
    public interface Sink {
        void record(Tx tx, Egress egress);
    }

    /**
     * The body bytes of one response to {@code tenant}'s client.
     *
     * @param keyId the API key the client called with
     * @param link what the response belongs to: a ledger id or {@code run:<id>}; a retried request
     *     that gets the same link is metered once
     */
    public record Egress(TenantId tenant, UUID keyId, String link, String requestId, long bytes) {
        public Egress {
            requireNonNull(tenant, "tenant is null");
            requireNonNull(keyId, "keyId is null");
            requireNonNull(link, "link is null");
            requireNonNull(requestId, "requestId is null");
        }
    }

    private record Link(TenantId tenant, UUID keyId, String link, String requestId) {
    }

    private final GroupCommit commit;
    private final Sink sink;

    public ResponseEgress(GroupCommit commit, Sink sink) {
        this.commit = requireNonNull(commit, "commit is null");
        this.sink = requireNonNull(sink, "sink is null");
    }

    /** Marks this request's response body as egress of the authenticated tenant, belonging to {@code link}. */
    public static void meter(Context ctx, String link) {
        Principal principal = Edge.principal(ctx).orElseThrow(() -> new IllegalStateException("meter egress after authenticating"));
        ctx.req().setAttribute(LINK_ATTRIBUTE, new Link(principal.tenant().id(), principal.keyId(), requireNonNull(link, "link is null"), Edge.requestId(ctx)));
    }

    /**
     * Meters {@code body}, the whole answer this request will send, as egress of the authenticated tenant belonging to
     * {@code link}, in {@code tx}: the durable unit that writes the call's ledger row, so both commit together. The route must
     * then send exactly {@code body}, uncompressed (Javalin's compression would change the bytes on the wire); the filter
     * logs an error if the bytes sent differ. Without this filter in front (a test's bare Javalin), nothing is metered.
     * Called again when the group commit retries the unit, it meters again in the new transaction.
     */
    public static void meterWithCall(Context ctx, Tx tx, String link, byte[] body) {
        if (!(ctx.req().getAttribute(RESPONSE_ATTRIBUTE) instanceof Counted counted) || body.length == 0) {
            return;
        }
        Principal principal = Edge.principal(ctx).orElseThrow(() -> new IllegalStateException("meter egress after authenticating"));
        Egress egress = new Egress(principal.tenant().id(), principal.keyId(), requireNonNull(link, "link is null"), Edge.requestId(ctx),
                body.length);
        counted.sink().record(tx, egress);
        counted.meteredWithCall(egress);
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
        if (!(request instanceof HttpServletRequest http) || !(response instanceof HttpServletResponse httpResponse)) {
            chain.doFilter(request, response);
            return;
        }
        Counted counted = new Counted(http, httpResponse);
        http.setAttribute(RESPONSE_ATTRIBUTE, counted);
        try {
            chain.doFilter(request, counted);
        } finally {
            counted.complete();
        }
    }

    private final class Counted extends HttpServletResponseWrapper {
        private final HttpServletRequest request;
        private final AtomicBoolean recorded = new AtomicBoolean();
        private volatile long bytes;
        private volatile Egress withCall;
        private ServletOutputStream stream;
        private PrintWriter writer;

        Counted(HttpServletRequest request, HttpServletResponse response) {
            super(response);
            this.request = request;
        }

        @Override
        public synchronized ServletOutputStream getOutputStream() throws IOException {
            if (stream == null) {
                stream = new Counting(super.getOutputStream(), this);
            }
            return stream;
        }

        @Override
        public synchronized PrintWriter getWriter() throws IOException {
            if (writer == null) {
                writer = new PrintWriter(new OutputStreamWriter(getOutputStream(), Charset.forName(getCharacterEncoding())));
            }
            return writer;
        }

        void add(int count) {
            bytes += count;
        }

        Sink sink() {
            return sink;
        }

        /** The body's egress is in the call's unit (run on the committer thread); the end of the body only checks it. */
        void meteredWithCall(Egress egress) {
            withCall = egress;
        }

        /** The body is complete: record it once, before the response ends. */
        void complete() {
            if (writer != null) {
                writer.flush();
            }
            Egress metered = withCall;
            if (metered != null) {
                if (recorded.compareAndSet(false, true) && metered.bytes() != bytes && getStatus() < 400) {
                    LOG.error("Egress of {} bytes for tenant {} ({}) was recorded with the call, but {} bytes were sent", metered.bytes(),
                            metered.tenant().value(), metered.link(), bytes);
                }
                return;
            }
            if (!(request.getAttribute(LINK_ATTRIBUTE) instanceof Link link) || bytes == 0 || getStatus() >= 400
                    || !recorded.compareAndSet(false, true)) {
                return;
            }
            Egress egress = new Egress(link.tenant(), link.keyId(), link.link(), link.requestId(), bytes);
            try {
                commit.execute(tx -> {
                    sink.record(tx, egress);
                    return null;
                });
            } catch (RuntimeException e) {
                LOG.error("Egress of {} bytes for tenant {} ({}) was not recorded: {}", egress.bytes(), egress.tenant().value(),
                        egress.link(), e.getMessage(), e);
            }
        }
    }

    private static final class Counting extends ServletOutputStream {
        private final ServletOutputStream out;
        private final Counted response;

        Counting(ServletOutputStream out, Counted response) {
            this.out = out;
            this.response = response;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            response.add(1);
        }

        @Override
        public void write(byte[] buffer, int offset, int length) throws IOException {
            out.write(buffer, offset, length);
            response.add(length);
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        /** A route that closes the body has completed it: its egress is durable before the client sees the end. */
        @Override
        public void close() throws IOException {
            response.complete();
            out.close();
        }

        @Override
        public boolean isReady() {
            return out.isReady();
        }

        @Override
        public void setWriteListener(WriteListener listener) {
            out.setWriteListener(listener);
        }
    }
}
