package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.time.Duration;
import java.util.Map;

/** Token buckets (Bucket4j) in a {@link BucketStore}. Thread-safe. */
public final class BucketRateLimiter implements RateLimiter {
    private final RateLimits limits;
    private final BucketStore buckets;

    public BucketRateLimiter(RateLimits limits, BucketStore buckets) {
        this.limits = requireNonNull(limits, "limits is null");
        this.buckets = requireNonNull(buckets, "buckets is null");
    }

    @Override
    public Decision admit(Principal principal) {
        RateLimits.Limit tier = limits.tier(principal.tenant().tier());
        String tenant = principal.tenant().id().toString();
        String key = principal.keyId().toString();
        checkTokens("tenant", tenant, tier.tokensPerMinute());
        checkTokens("key", key, limits.perKey().tokensPerMinute());
        Decision tenantDecision = take("tenant", tenant, tier.requestsPerMinute());
        Decision keyDecision = take("key", key, limits.perKey().requestsPerMinute());
        if (tenantDecision == Decision.UNLIMITED) {
            return keyDecision;
        }
        if (keyDecision == Decision.UNLIMITED) {
            return tenantDecision;
        }
        return keyDecision.remaining() < tenantDecision.remaining() ? keyDecision : tenantDecision;
    }

    @Override
    public void charge(Principal principal, long tokens) {
        if (tokens <= 0) {
            return;
        }
        long tenantLimit = limits.tier(principal.tenant().tier()).tokensPerMinute();
        if (tenantLimit > 0) {
            bucket("tenant-tokens:" + principal.tenant().id(), tenantLimit).consumeIgnoringRateLimits(tokens);
        }
        long keyLimit = limits.perKey().tokensPerMinute();
        if (keyLimit > 0) {
            bucket("key-tokens:" + principal.keyId(), keyLimit).consumeIgnoringRateLimits(tokens);
        }
    }

    private Decision take(String scope, String id, long perMinute) {
        if (perMinute <= 0) {
            return Decision.UNLIMITED;
        }
        ConsumptionProbe probe = bucket(scope + "-requests:" + id, perMinute).tryConsumeAndReturnRemaining(1);
        if (!probe.isConsumed()) {
            long retryAfter = Math.max(1, Duration.ofNanos(probe.getNanosToWaitForRefill()).toSeconds() + 1);
            throw limited("%s request limit of %d per minute reached".formatted(scope, perMinute), perMinute, retryAfter);
        }
        long perToken = Duration.ofMinutes(1).toNanos() / perMinute;
        long reset = Duration.ofNanos((perMinute - probe.getRemainingTokens()) * perToken).toSeconds();
        return new Decision(perMinute, probe.getRemainingTokens(), reset);
    }

    private void checkTokens(String scope, String id, long perMinute) {
        if (perMinute <= 0) {
            return;
        }
        Bucket bucket = bucket(scope + "-tokens:" + id, perMinute);
        long available = bucket.getAvailableTokens();
        if (available <= 0) {
            long perToken = Duration.ofMinutes(1).toNanos() / perMinute;
            long retryAfter = Math.max(1, Duration.ofNanos((1 - available) * perToken).toSeconds() + 1);
            throw limited("%s token limit of %d per minute reached".formatted(scope, perMinute), perMinute, retryAfter);
        }
    }

    private Bucket bucket(String name, long perMinute) {
        return buckets.bucket(name, perMinute);
    }

    private static SomaException limited(String detail, long limit, long retryAfter) {
        return new SomaException(ErrorCode.RATE_LIMITED, "%s; retry in %d s".formatted(detail, retryAfter),
                Map.of("retry_after_seconds", retryAfter, "limit", limit, "remaining", 0L, "reset_seconds", retryAfter));
    }
}
