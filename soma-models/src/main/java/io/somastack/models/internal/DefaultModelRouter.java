package io.somastack.models.internal;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.models.ChatChunk;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.ModelInfo;
import io.somastack.models.ModelProvider;
import io.somastack.models.ModelRouter;
import io.somastack.models.ModelsConfig;
import io.somastack.models.ModelsConfig.AliasTarget;
import io.somastack.models.Route;
import io.somastack.models.RouteTarget;
import io.somastack.models.StreamSink;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * The {@link ModelRouter}: aliases to ordered targets, one circuit breaker per provider,
 * fallback on retryable failures. Immutable after construction; the breakers are thread-safe.
 */
public final class DefaultModelRouter implements ModelRouter {
    private final Map<String, ModelProvider> providers = new LinkedHashMap<>();
    private final Map<String, Route> routes = new LinkedHashMap<>();
    private final Map<String, CircuitBreaker> breakers;
    private final long created;

    public DefaultModelRouter(ModelsConfig config, List<ModelProvider> providerList, Clock clock) {
        providerList.forEach(provider -> providers.put(provider.name(), provider));
        this.breakers = CircuitBreakers.create(config.circuitBreaker(), providers.keySet(), clock);
        this.created = clock.now().getEpochSecond();
        config.aliases().forEach((alias, targets) -> routes.put(alias, route(alias, targets)));
    }

    @Override
    public Route route(String model) {
        Route route = model == null ? null : routes.get(model);
        if (route == null) {
            List<String> available = List.copyOf(routes.keySet());
            throw new SomaException(ErrorCode.UNKNOWN_MODEL, "Model '%s' is not available; available models: %s"
                    .formatted(model, available.isEmpty() ? "none" : String.join(", ", available)),
                    Map.of("available", available));
        }
        return route;
    }

    @Override
    public ChatResult complete(ChatRequest request) {
        return attempt(route(request.model()), target -> target.provider().complete(request, target.upstreamModel()), () -> false);
    }

    @Override
    public ChatResult stream(ChatRequest request, StreamSink sink) {
        DeliveryTracker tracker = new DeliveryTracker(sink);
        return attempt(route(request.model()),
                target -> target.provider().stream(request, target.upstreamModel(), tracker), tracker::delivered);
    }

    @Override
    public List<ModelInfo> models() {
        return routes.values().stream()
                .map(route -> ModelInfo.of(route.model(), created, route.primary().providerName()))
                .toList();
    }

    @Override
    public Map<String, String> circuitStates() {
        Map<String, String> states = new LinkedHashMap<>();
        breakers.forEach((provider, breaker) -> states.put(provider, breaker.getState().name()));
        return states;
    }

    @Override
    public void close() {
        List<ModelProvider> reversed = new ArrayList<>(providers.values()).reversed();
        reversed.forEach(ModelProvider::close);
    }

    /**
     * Tries the targets in order. A retryable failure moves on to the next target unless a
     * chunk already reached the client; an open circuit skips its target.
     */
    private ChatResult attempt(Route route, Function<RouteTarget, ChatResult> call, BooleanSupplier delivered) {
        SomaException last = null;
        List<String> open = new ArrayList<>();
        for (RouteTarget target : route.targets()) {
            CircuitBreaker breaker = breakers.get(target.providerName());
            if (!breaker.tryAcquirePermission()) {
                open.add(target.providerName());
                continue;
            }
            long start = System.nanoTime();
            try {
                ChatResult result = call.apply(target);
                breaker.onSuccess(System.nanoTime() - start, TimeUnit.NANOSECONDS);
                return result;
            } catch (RuntimeException e) {
                breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, e);
                if (!Upstream.isRetryable(e) || delivered.getAsBoolean()) {
                    throw e;
                }
                last = (SomaException) e;
            }
        }
        if (last != null) {
            throw last;
        }
        throw new SomaException(ErrorCode.UPSTREAM_UNAVAILABLE,
                "No provider can serve model %s: the circuit is open for %s".formatted(route.model(), String.join(", ", open)),
                Map.of("providers", open));
    }

    private Route route(String alias, List<AliasTarget> targets) {
        List<RouteTarget> resolved = targets.stream()
                .map(target -> new RouteTarget(provider(target.provider()), target.model()))
                .toList();
        return new Route(alias, resolved);
    }

    private ModelProvider provider(String name) {
        ModelProvider provider = providers.get(name);
        if (provider == null) {
            throw new IllegalArgumentException("alias target names unknown provider " + name);
        }
        return provider;
    }

    /** Remembers whether any chunk was handed to the client, which forbids falling back. */
    private static final class DeliveryTracker implements StreamSink {
        private final StreamSink sink;
        private boolean delivered;

        DeliveryTracker(StreamSink sink) {
            this.sink = sink;
        }

        @Override
        public boolean onChunk(ChatChunk chunk) {
            delivered = true;
            return sink.onChunk(chunk);
        }

        boolean delivered() {
            return delivered;
        }
    }
}
