package io.somastack.models.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import tools.jackson.databind.JsonNode;

/**
 * The HTTP side of a remote provider: one Jetty {@link HttpClient} (thread-safe, pooled
 * keep-alive connections), JSON POSTs whose error answers become {@code UPSTREAM_ERROR}
 * failures, and bodies left open for streaming. Closing an {@link Answer}'s body before its end
 * aborts the exchange (the upstream sees the connection close, so it stops generating); a body
 * read to its end returns the connection to the pool. Why Jetty's client and not the JDK's:
 * soma-models/README.md.
 */
public final class HttpUpstream implements AutoCloseable {
    private static final int MAX_ERROR_BODY = 64 * 1024;
    private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** Model calls last seconds; the pool must not be what limits how many run at once (the JDK's had no limit). */
    private static final int MAX_CONNECTIONS = 4096;
    private static final int MAX_QUEUED = 65_536;

    /**
     * An upstream answer whose body is unread; close the body (read to its end or not).
     *
     * @param status the HTTP status
     * @param body the response body as it arrives
     */
    public record Answer(int status, InputStream body) {
    }

    private final String provider;
    private final HttpClient client;
    private final Duration timeout;

    /**
     * A client for {@code baseUrl}, HTTP/1.1 (with TLS for {@code https}). {@code timeout} bounds
     * the wait for the answer's headers, and any silence of the upstream after them (a stream
     * that stops sending for that long fails), and the connect time up to 10 s.
     */
    public HttpUpstream(String provider, URI baseUrl, Duration timeout) {
        this.provider = provider;
        this.timeout = timeout;
        this.client = new HttpClient();
        client.setFollowRedirects(false);
        client.setConnectTimeout((timeout.compareTo(MAX_CONNECT_TIMEOUT) < 0 ? timeout : MAX_CONNECT_TIMEOUT).toMillis());
        client.setIdleTimeout(timeout.toMillis());
        client.setMaxConnectionsPerDestination(MAX_CONNECTIONS);
        client.setMaxRequestsQueuedPerDestination(MAX_QUEUED);
        client.setUserAgentField(new HttpField(HttpHeader.USER_AGENT, "SomaStack"));
        // Bodies arrive as the upstream sent them: no Accept-Encoding, so no gzip to buffer a stream.
        client.getContentDecoderFactories().clear();
        try {
            client.start();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot start the HTTP client of provider " + provider + ": " + e.getMessage(), e);
        }
        // Every answer goes to the provider as it came: none of Jetty's own handling of a 401
        // challenge, a redirect or 100-continue (it installs them when it starts).
        client.getProtocolHandlers().clear();
    }

    /**
     * POSTs a JSON body. Returns the answer with its body unread when the status is below 400;
     * otherwise reads the error body and throws.
     */
    public Answer post(URI uri, Map<String, String> headers, byte[] body) {
        Answer answer = exchange(uri, headers, body);
        if (answer.status() >= 400) {
            throw Upstream.httpFailure(provider, answer.status(), errorMessage(errorBody(answer)));
        }
        return answer;
    }

    /**
     * POSTs a JSON body and returns the answer, whatever its status, with its body unread.
     * Throws a retryable {@code UPSTREAM_ERROR} when no answer arrived in time (its cause says
     * why: {@link HttpTimeoutException}, a refused connection, ...).
     */
    public Answer exchange(URI uri, Map<String, String> headers, byte[] body) {
        InputStreamResponseListener listener = new InputStreamResponseListener();
        Request request = client.newRequest(uri).method(HttpMethod.POST)
                .headers(fields -> headers.forEach(fields::put))
                .body(new BytesRequestContent("application/json", body));
        request.send(listener);
        try {
            Response response = listener.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return new Answer(response.getStatus(), listener.getInputStream());
        } catch (TimeoutException e) {
            request.abort(e);
            throw Upstream.unreachable(provider, new HttpTimeoutException("no answer within %d ms".formatted(timeout.toMillis())));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw Upstream.unreachable(provider, cause instanceof TimeoutException
                    ? new HttpTimeoutException("no answer within %d ms".formatted(timeout.toMillis())) : cause);
        } catch (InterruptedException e) {
            request.abort(e);
            Thread.currentThread().interrupt();
            throw Upstream.failure(provider, 0, false, "interrupted while waiting for the answer", e);
        }
    }

    /** The start of an error answer's body (at most 64 KiB), closing it; empty when it cannot be read. */
    public static String errorBody(Answer answer) {
        try (InputStream in = answer.body()) {
            return new String(in.readNBytes(MAX_ERROR_BODY), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /** Reads a whole (non-streamed) answer body. */
    public byte[] read(Answer answer) {
        try (InputStream in = answer.body()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw Upstream.unreachable(provider, e);
        }
    }

    /** The {@code error.message} of an OpenAI or Anthropic error body, else the body itself (its start). */
    public static String errorMessage(String body) {
        JsonNode tree = WireJson.treeOrNull(body);
        JsonNode error = tree == null ? null : tree.get("error");
        if (error != null && error.isObject()) {
            String type = error.path("type").asString("");
            String message = error.path("message").asString("");
            return type.isEmpty() ? message : "%s (%s)".formatted(message, type);
        }
        String text = body.strip();
        if (text.isEmpty()) {
            return "(empty body)";
        }
        return text.length() > 300 ? text.substring(0, 300) + "..." : text;
    }

    @Override
    public void close() {
        try {
            client.stop();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot stop the HTTP client of provider " + provider, e);
        }
    }
}
