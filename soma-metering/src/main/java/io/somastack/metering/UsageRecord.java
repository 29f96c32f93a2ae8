package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.util.Optional;
import java.util.UUID;

/**
 * One model call as billed: who, which model and provider, how many tokens (counted by the
 * provider, or estimated with the model's tokenizer), what it cost under {@code price}, and the
 * installed capsule it was made for, if any (an agent run's model calls).
 */
public record UsageRecord(
        TenantId tenantId,
        UUID keyId,
        String requestId,
        Optional<String> idempotencyKey,
        String model,
        String provider,
        String upstreamModel,
        long inputTokens,
        long outputTokens,
        boolean estimated,
        Price price,
        Optional<String> capsule) {

    public UsageRecord {
        requireNonNull(tenantId, "tenantId is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(requestId, "requestId is null");
        requireNonNull(idempotencyKey, "idempotencyKey is null");
        requireNonNull(model, "model is null");
        requireNonNull(provider, "provider is null");
        requireNonNull(upstreamModel, "upstreamModel is null");
        requireNonNull(price, "price is null");
        requireNonNull(capsule, "capsule is null");
        if (inputTokens < 0 || outputTokens < 0) {
            throw new IllegalArgumentException("token counts must not be negative");
        }
    }

    /** A call made for no capsule. */
    public UsageRecord(TenantId tenantId, UUID keyId, String requestId, Optional<String> idempotencyKey, String model, String provider,
            String upstreamModel, long inputTokens, long outputTokens, boolean estimated, Price price) {
        this(tenantId, keyId, requestId, idempotencyKey, model, provider, upstreamModel, inputTokens, outputTokens, estimated, price,
                Optional.empty());
    }

    public Money cost() {
        return price.cost(inputTokens, outputTokens);
    }
}
