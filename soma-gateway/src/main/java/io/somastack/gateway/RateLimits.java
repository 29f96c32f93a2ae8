package io.somastack.gateway;

import io.somastack.kernel.Settings;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Requests and tokens per minute, per tenant (by tier) and per key. Keys
 * {@code tiers.<tier>.rpm}, {@code tiers.<tier>.tpm}, {@code keys.rpm}, {@code keys.tpm};
 * zero means unlimited.
 */
public record RateLimits(Map<String, Limit> tiers, Limit perKey) {
    public static final Limit DEFAULT_TIER = new Limit(600, 1_000_000);
    /** Bucket4j refills at most one token per nanosecond: 60 billion per minute. */
    public static final long MAX_PER_MINUTE = 60_000_000_000L;

    public RateLimits {
        tiers = Map.copyOf(tiers);
    }

    public Limit tier(String tier) {
        return tiers.getOrDefault(tier, DEFAULT_TIER);
    }

    public static RateLimits from(Settings settings) {
        Map<String, Limit> tiers = new LinkedHashMap<>();
        tiers.put("free", new Limit(60, 100_000));
        tiers.put("standard", DEFAULT_TIER);
        tiers.put("enterprise", new Limit(0, 0));
        Map<String, String> configured = settings.withPrefix("tiers");
        configured.keySet().stream().map(key -> key.substring(0, Math.max(0, key.indexOf('.')))).distinct().forEach(tier -> {
            if (tier.isEmpty()) {
                settings.problem("tiers.* keys must be tiers.<tier>.rpm or tiers.<tier>.tpm");
                return;
            }
            Limit base = tiers.getOrDefault(tier, DEFAULT_TIER);
            tiers.put(tier, new Limit(settings.longValue("tiers." + tier + ".rpm", base.requestsPerMinute(), 0, MAX_PER_MINUTE),
                    settings.longValue("tiers." + tier + ".tpm", base.tokensPerMinute(), 0, MAX_PER_MINUTE)));
        });
        configured.keySet().stream().filter(key -> !key.endsWith(".rpm") && !key.endsWith(".tpm"))
                .forEach(key -> settings.problem("unknown config key 'tiers.%s' (use tiers.<tier>.rpm or .tpm)".formatted(key)));
        Limit perKey = new Limit(settings.longValue("keys.rpm", 0, 0, MAX_PER_MINUTE), settings.longValue("keys.tpm", 0, 0, MAX_PER_MINUTE));
        return new RateLimits(tiers, perKey);
    }

    /** One pair of limits; 0 disables that limit. */
    public record Limit(long requestsPerMinute, long tokensPerMinute) {
        public Limit {
            if (requestsPerMinute < 0 || tokensPerMinute < 0 || requestsPerMinute > MAX_PER_MINUTE || tokensPerMinute > MAX_PER_MINUTE) {
                throw new IllegalArgumentException("rate limits must be between 0 (unlimited) and %d per minute".formatted(MAX_PER_MINUTE));
            }
        }
    }
}
