package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import io.somastack.tools.FailureReason;
import io.somastack.tools.ToolsConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * Runs an HTTP tool: POSTs the arguments JSON to the executor URL. A JSON answer is the result;
 * a {@code text/event-stream} answer is streamed, each event's data a delta, and the last
 * event's data (if JSON) or else all data as {@code {"text": ...}} the result. Connections go
 * only where the {@link SsrfGuard} allowed: the client's resolver is the guard, so the address
 * checked is the address connected to (no second lookup, no DNS rebinding). Redirects are
 * followed (at most 3) only to the same host and port. Connect and whole-call timeouts, and a
 * cap on the response size. Thread-safe.
 */
public final class HttpExecutor implements Executor, AutoCloseable {
    private static final int MAX_REDIRECTS = 3;

    private final ToolsConfig config;
    private final SsrfGuard guard;
    private final ToolMetrics metrics;
    private final HttpClient client;

    public HttpExecutor(ToolsConfig config, SsrfGuard guard, ToolMetrics metrics) {
        this.config = requireNonNull(config, "config is null");
        this.guard = requireNonNull(guard, "guard is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        client = new HttpClient();
        client.setFollowRedirects(false);
        client.setConnectTimeout(config.httpConnectTimeout().toMillis());
        client.setIdleTimeout(config.httpTimeout().toMillis());
        client.setMaxConnectionsPerDestination(256);
        client.setSocketAddressResolver((host, port, context, promise) -> {
            try {
                List<InetAddress> addresses = guard.check(host);
                promise.succeeded(addresses.stream().map(address -> new InetSocketAddress(address, port)).toList());
            } catch (SsrfGuard.Refused e) {
                promise.failed(e);
            }
        });
        try {
            client.start();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot start the HTTP tool client: " + e.getMessage(), e);
        }
    }

    @Override
    public Outcome execute(TenantId tenant, CapsuleTools capsule, ToolSpec tool, byte[] arguments, Map<String, String> headers, Consumer<String> deltas) {
        URI url = tool.url().orElseThrow();
        long deadline = System.nanoTime() + config.httpTimeout().toNanos();
        for (int redirects = 0; ; redirects++) {
            // Refuse before connecting, with the reason (the client's resolver checks again, at connect).
            try {
                guard.check(url.getHost());
            } catch (SsrfGuard.Refused e) {
                metrics.ssrfRefusal(e.reason());
                return new Outcome.Failure(FailureReason.DENIED, "Refused %s: %s".formatted(url, e.getMessage()), "");
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return timeout();
            }
            InputStreamResponseListener listener = new InputStreamResponseListener();
            Request request = client.newRequest(url).method(HttpMethod.POST).timeout(left, TimeUnit.NANOSECONDS)
                    .agent("SomaStack-Tools").headers(fields -> {
                        headers.forEach(fields::put);
                        fields.put(HttpHeader.ACCEPT, "application/json, text/event-stream");
                    })
                    .body(new BytesRequestContent("application/json", arguments));
            request.send(listener);
            Response response;
            try {
                response = listener.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                request.abort(e);
                return timeout();
            } catch (InterruptedException e) {
                request.abort(e);
                Thread.currentThread().interrupt();
                return new Outcome.Failure(FailureReason.TIMEOUT, "The call was cancelled", "");
            } catch (ExecutionException e) {
                return failure(url, e.getCause());
            }
            int status = response.getStatus();
            if (status >= 300 && status < 400 && response.getHeaders().get(HttpHeader.LOCATION) != null) {
                drain(listener);
                URI next = url.resolve(response.getHeaders().get(HttpHeader.LOCATION));
                if (!sameHost(url, next)) {
                    metrics.ssrfRefusal("redirect");
                    return new Outcome.Failure(FailureReason.DENIED, "Refused the redirect from %s to %s: a tool follows redirects only to the same host"
                            .formatted(url, next), "");
                }
                if (redirects >= MAX_REDIRECTS) {
                    return new Outcome.Failure(FailureReason.UPSTREAM_ERROR, "More than %d redirects from %s".formatted(MAX_REDIRECTS, tool.url().get()), "");
                }
                url = next;
                continue;
            }
            return answer(url, status, response, listener, deltas);
        }
    }

    private Outcome answer(URI url, int status, Response response, InputStreamResponseListener listener, Consumer<String> deltas) {
        String contentType = String.valueOf(response.getHeaders().get(HttpHeader.CONTENT_TYPE)).toLowerCase(Locale.ROOT);
        try (InputStream in = listener.getInputStream()) {
            if (status < 200 || status >= 300) {
                byte[] body = read(in, 2048, false);
                return new Outcome.Failure(FailureReason.UPSTREAM_ERROR, "%s answered %d: %s".formatted(url, status,
                        new String(body, StandardCharsets.UTF_8)), "");
            }
            if (contentType.startsWith("text/event-stream")) {
                return events(in, deltas);
            }
            byte[] body = read(in, config.httpMaxResponseBytes(), true);
            try {
                JsonNode result = Json.mapper().readTree(body);
                if (result == null || result.isMissingNode()) {
                    return new Outcome.Failure(FailureReason.UPSTREAM_ERROR, "%s answered an empty body".formatted(url), "");
                }
                return new Outcome.Success(result, "");
            } catch (JacksonException e) {
                return new Outcome.Failure(FailureReason.UPSTREAM_ERROR, "%s answered something other than JSON (%s)".formatted(url, contentType), "");
            }
        } catch (TooLarge e) {
            metrics.sandboxKill(FailureReason.OUTPUT_LIMIT);
            return new Outcome.Failure(FailureReason.OUTPUT_LIMIT, "%s answered more than %d bytes".formatted(url, config.httpMaxResponseBytes()), "");
        } catch (IOException e) {
            return failure(url, e);
        }
    }

    /** Server-sent events: each event's data a delta; the last event's data (JSON) or all data the result. */
    private Outcome events(InputStream in, Consumer<String> deltas) throws IOException {
        StringBuilder all = new StringBuilder();
        StringBuilder data = new StringBuilder();
        String last = null;
        long total = 0;
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1) {
            if (++total > config.httpMaxResponseBytes()) {
                throw new TooLarge();
            }
            if (b != '\n') {
                line.write(b);
                continue;
            }
            String text = line.toString(StandardCharsets.UTF_8);
            line.reset();
            if (text.endsWith("\r")) {
                text = text.substring(0, text.length() - 1);
            }
            if (text.isEmpty()) {
                if (!data.isEmpty()) {
                    last = data.toString();
                    for (int i = 0; i < last.length(); i += config.deltaBytes()) {
                        deltas.accept(last.substring(i, Math.min(last.length(), i + config.deltaBytes())));
                    }
                    all.append(last);
                    data.setLength(0);
                }
            } else if (text.startsWith("data:")) {
                if (!data.isEmpty()) {
                    data.append('\n');
                }
                data.append(text.substring(text.startsWith("data: ") ? 6 : 5));
            }
        }
        if (last != null) {
            try {
                JsonNode result = Json.mapper().readTree(last);
                if (result != null && result.isObject()) {
                    return new Outcome.Success(result, "");
                }
            } catch (JacksonException e) {
                // not JSON: the result is the text
            }
        }
        return new Outcome.Success(Json.mapper().createObjectNode().put("text", all.toString()), "");
    }

    private Outcome failure(URI url, Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && !(root instanceof SsrfGuard.Refused)) {
            root = root.getCause();
        }
        if (root instanceof SsrfGuard.Refused refused) {
            metrics.ssrfRefusal(refused.reason());
            return new Outcome.Failure(FailureReason.DENIED, "Refused %s: %s".formatted(url, refused.getMessage()), "");
        }
        if (root instanceof TimeoutException || root instanceof java.net.SocketTimeoutException) {
            return timeout();
        }
        return new Outcome.Failure(FailureReason.UPSTREAM_ERROR, "%s failed: %s".formatted(url, root.toString()), "");
    }

    private Outcome timeout() {
        return new Outcome.Failure(FailureReason.TIMEOUT, "The tool server did not answer within %d ms".formatted(config.httpTimeout().toMillis()), "");
    }

    private static boolean sameHost(URI from, URI to) {
        return to.getHost() != null && from.getHost().equalsIgnoreCase(to.getHost()) && Egress.port(from) == Egress.port(to)
                && from.getScheme().equalsIgnoreCase(to.getScheme());
    }

    private static void drain(InputStreamResponseListener listener) {
        try (InputStream in = listener.getInputStream()) {
            in.skip(64 * 1024);
        } catch (IOException ignored) {
            // the redirect's body does not matter
        }
    }

    private static final class TooLarge extends IOException {
        TooLarge() {
            super("too large", null);
        }
    }

    private static byte[] read(InputStream in, long limit, boolean strict) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        int n;
        while ((n = in.read(buffer)) != -1) {
            if (out.size() + (long) n > limit) {
                if (strict) {
                    throw new TooLarge();
                }
                out.write(buffer, 0, (int) (limit - out.size()));
                break;
            }
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
    }

    @Override
    public void close() {
        try {
            client.stop();
        } catch (Exception ignored) {
            // closing
        }
    }
}
