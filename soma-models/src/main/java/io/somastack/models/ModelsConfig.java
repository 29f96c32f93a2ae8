package io.somastack.models;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import io.somastack.models.internal.ModelsConfigReader;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Configuration of the models capability: providers, model aliases and circuit breakers.
 *
 * <p>Read by {@link #from(Settings)} from the YAML key {@code models} and from environment
 * shortcuts ({@code SOMA_LOCAL_MODEL}, {@code SOMA_OPENAI_BASE_URL} + {@code SOMA_OPENAI_API_KEY}
 * + {@code SOMA_OPENAI_MODELS}, {@code SOMA_ANTHROPIC_API_KEY} + {@code SOMA_ANTHROPIC_BASE_URL}
 * + {@code SOMA_ANTHROPIC_MODELS}); the module README shows the YAML. Bad values are reported
 * through {@link Settings#problem(String)}, so {@link Settings#validate()} lists them all.
 *
 * @param providers configured providers, names unique
 * @param aliases model id clients name to the targets tried in order
 * @param circuitBreaker settings of the per-provider circuit breakers
 */
public record ModelsConfig(List<ProviderConfig> providers, Map<String, List<AliasTarget>> aliases, CircuitBreaker circuitBreaker) {

    public ModelsConfig {
        providers = List.copyOf(providers);
        Map<String, List<AliasTarget>> copy = new LinkedHashMap<>();
        aliases.forEach((alias, targets) -> copy.put(alias, List.copyOf(targets)));
        aliases = Collections.unmodifiableMap(copy);
        requireNonNull(circuitBreaker, "circuitBreaker is null");
    }

    /** One target of an alias: provider name and the upstream model name. */
    public record AliasTarget(String provider, String model) {

        public AliasTarget {
            requireNonNull(provider, "provider is null");
            requireNonNull(model, "model is null");
        }

        @Override
        public String toString() {
            return provider + "/" + model;
        }
    }

    /**
     * Circuit breaker settings, one breaker per provider. Only retryable failures count.
     *
     * @param failureRateThreshold percentage of failed calls in the window that opens the circuit
     * @param slidingWindow number of recent calls considered
     * @param minimumCalls calls needed in the window before the rate is evaluated
     * @param openDuration how long an open circuit refuses calls before trying again
     * @param halfOpenCalls trial calls allowed while half-open
     */
    public record CircuitBreaker(int failureRateThreshold, int slidingWindow, int minimumCalls, Duration openDuration, int halfOpenCalls) {
        public static final CircuitBreaker DEFAULTS = new CircuitBreaker(50, 20, 5, Duration.ofSeconds(30), 2);

        public CircuitBreaker {
            requireNonNull(openDuration, "openDuration is null");
            if (failureRateThreshold < 1 || failureRateThreshold > 100 || slidingWindow < 1 || minimumCalls < 1 || halfOpenCalls < 1) {
                throw new IllegalArgumentException("invalid circuit breaker settings");
            }
        }
    }

    /** Reads the config; environment variables named by {@code api_key_env} come from the process. */
    public static ModelsConfig from(Settings settings) {
        return from(settings, System.getenv());
    }

    /** Reads the config, resolving {@code api_key_env} in {@code environment}. */
    public static ModelsConfig from(Settings settings, Map<String, String> environment) {
        return new ModelsConfigReader(settings, environment).read();
    }

    /** Provider by name. */
    public Optional<ProviderConfig> provider(String name) {
        return providers.stream().filter(provider -> provider.name().equals(name)).findFirst();
    }
}
