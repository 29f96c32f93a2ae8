package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.util.Optional;
import java.util.UUID;

/**
 * One model call as billed: who, which model and provider, how many tokens (counted by the
 * provider, or estimated with the model's tokenizer), and what it cost under {@code price}.
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
        Price price) {

    public UsageRecord {
        requireNonNull(tenantId, "tenantId is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(requestId, "requestId is null");
        requireNonNull(idempotencyKey, "idempotencyKey is null");
        requireNonNull(model, "model is null");
        requireNonNull(provider, "provider is null");
        requireNonNull(upstreamModel, "upstreamModel is null");
        requireNonNull(price, "price is null");
        if (inputTokens < 0 || outputTokens < 0) {
            throw new IllegalArgumentException("token counts must not be negative");
        }
    }

    public Money cost() {
        return price.cost(inputTokens, outputTokens);
    }
}
