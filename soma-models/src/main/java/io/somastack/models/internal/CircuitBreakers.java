package io.somastack.models.internal;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.somastack.kernel.Clock;
import io.somastack.models.ModelsConfig;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One resilience4j circuit breaker per provider, counting only retryable failures (429, 5xx,
 * unreachable): a 400 means the provider is healthy and the request is wrong. The breakers
 * read time from SomaStack's {@link Clock}, so tests can move an open circuit to half-open.
 */
public final class CircuitBreakers {

    private CircuitBreakers() {
    }

    /** One breaker for {@code name}, e.g. a remote embedder. */
    public static CircuitBreaker one(ModelsConfig.CircuitBreaker settings, String name, Clock clock) {
        return create(settings, java.util.List.of(name), clock).get(name);
    }

    static Map<String, CircuitBreaker> create(ModelsConfig.CircuitBreaker settings, Collection<String> providers, Clock clock) {
        CircuitBreakerConfig config = CircuitBreakerConfig.custom()
                .failureRateThreshold(settings.failureRateThreshold())
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(settings.slidingWindow())
                .minimumNumberOfCalls(settings.minimumCalls())
                .waitDurationInOpenState(settings.openDuration())
                .permittedNumberOfCallsInHalfOpenState(settings.halfOpenCalls())
                .recordException(Upstream::isRetryable)
                .writableStackTraceEnabled(false)
                .clock(new JavaClock(clock))
                .build();
        Map<String, CircuitBreaker> breakers = new LinkedHashMap<>();
        providers.forEach(provider -> breakers.put(provider, CircuitBreaker.of(provider, config)));
        return breakers;
    }

    /** SomaStack's clock seen as a {@link java.time.Clock}. */
    private static final class JavaClock extends java.time.Clock {
        private final Clock clock;

        JavaClock(Clock clock) {
            this.clock = clock;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public java.time.Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return clock.now();
        }
    }
}
