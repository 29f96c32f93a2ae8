package io.somastack.models;

/**
 * Where a provider delivers the chunks of a streamed completion, usually the client's SSE
 * connection.
 *
 * <p>{@link #onChunk(ChatChunk)} returns {@code false} once the client has gone. The provider
 * then stops generating at once (it closes the upstream connection, or cancels local
 * generation), delivers nothing more, and returns the usage of what was generated up to that
 * point with {@link ChatResult#clientGone()} set. Called from the thread that called
 * {@code stream}, one chunk at a time; implementations need not be thread-safe.
 *
 * <pre>{@code
 * ChatResult result = router.stream(request, chunk -> sse.send(Json.text(chunk)));
 * }</pre>
 */
@FunctionalInterface
public interface StreamSink {

    /**
     * Delivers one chunk.
     *
     * @return true to continue, false when the client has disconnected
     */
    boolean onChunk(ChatChunk chunk);
}
