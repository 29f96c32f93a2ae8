package io.somastack.models.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * The HTTP side of a remote provider: one {@link HttpClient} (thread-safe, pooled
 * connections), JSON POSTs whose error answers become {@code UPSTREAM_ERROR} failures, and
 * bodies left open for streaming.
 */
public final class HttpUpstream implements AutoCloseable {
    private static final int MAX_ERROR_BODY = 64 * 1024;
    private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final String provider;
    private final HttpClient client;
    private final Duration timeout;

    /**
     * A client for {@code baseUrl}. Plain {@code http} upstreams (vLLM, Ollama, gateways in the
     * same network) get HTTP/1.1, because the HTTP/2 cleartext upgrade the JDK would attempt
     * is refused by some of them; {@code https} negotiates HTTP/2.
     */
    public HttpUpstream(String provider, URI baseUrl, Duration timeout) {
        this.provider = provider;
        this.timeout = timeout;
        this.client = HttpClient.newBuilder()
                .version("https".equals(baseUrl.getScheme()) ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout.compareTo(MAX_CONNECT_TIMEOUT) < 0 ? timeout : MAX_CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /**
     * POSTs a JSON body. Returns the response with its body unread when the status is below
     * 400; otherwise reads the error body and throws.
     */
    public HttpResponse<InputStream> post(URI uri, Map<String, String> headers, byte[] body) {
        HttpResponse<InputStream> response = exchange(uri, headers, body);
        if (response.statusCode() >= 400) {
            throw Upstream.httpFailure(provider, response.statusCode(), errorMessage(errorBody(response)));
        }
        return response;
    }

    /**
     * POSTs a JSON body and returns the response, whatever its status, with its body unread.
     * Throws a retryable {@code UPSTREAM_ERROR} when no response arrived in time (its cause
     * says why: {@link java.net.http.HttpTimeoutException}, a refused connection, ...).
     */
    public HttpResponse<InputStream> exchange(URI uri, Map<String, String> headers, byte[] body) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach(builder::header);
        try {
            return client.send(builder.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw Upstream.unreachable(provider, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Upstream.failure(provider, 0, false, "interrupted while waiting for the answer", e);
        }
    }

    /** The start of an error response's body (at most 64 KiB), closing it; empty when it cannot be read. */
    public static String errorBody(HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            return new String(in.readNBytes(MAX_ERROR_BODY), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** Reads a whole (non-streamed) response body. */
    public String read(HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
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
        client.shutdownNow();
    }
}
