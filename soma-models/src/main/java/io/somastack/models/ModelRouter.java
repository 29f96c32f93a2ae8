package io.somastack.models;

import java.util.List;
import java.util.Map;

/**
 * Routes a request's model id to its ordered targets, falling back to the next target when
 * one fails retryably (see {@link ModelProvider}) or its provider's circuit breaker is open.
 * One circuit breaker guards each provider. When every target fails the last failure is
 * thrown, or {@code UPSTREAM_UNAVAILABLE} when every circuit was open. A stream falls back
 * only while no chunk has reached the client.
 *
 * <p>Thread-safe. Created by {@link Models#router(ModelsConfig, io.somastack.kernel.Clock)};
 * closing it closes every provider. Example:
 * <pre>{@code
 * ModelRouter router = Models.router(ModelsConfig.from(settings), Clock.system());
 * int reserve = router.route(request.model()).countPromptTokens(request) + request.maxOutputTokens(1024);
 * ChatResult result = router.complete(request);
 * ledger.record(result.provider(), result.model(), result.usage());
 * }</pre>
 */
public interface ModelRouter extends AutoCloseable {

    /**
     * The targets for {@code model}.
     *
     * @throws io.somastack.kernel.SomaException {@code UNKNOWN_MODEL}, listing the available ids
     */
    Route route(String model);

    ChatResult complete(ChatRequest request);

    ChatResult stream(ChatRequest request, StreamSink sink);

    /** Every model id clients may name, for {@code GET /v1/models}. */
    List<ModelInfo> models();

    /** Provider name to circuit state: {@code CLOSED}, {@code OPEN} or {@code HALF_OPEN}. */
    Map<String, String> circuitStates();

    /** Closes every provider. */
    @Override
    void close();
}
