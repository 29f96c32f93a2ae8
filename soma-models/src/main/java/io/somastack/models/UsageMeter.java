package io.somastack.models;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.Principal;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.store.Tx;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Where {@link MeteredModels} bills model calls: prices, budgets and the usage ledger, which
 * soma-metering owns ({@code io.somastack.metering.LedgerUsageMeter}). soma-models does not
 * depend on soma-metering; it meters through this interface, as memory's {@code StorageSink}
 * does, so the metering capability may use models (and its tests may call them) without a cycle.
 *
 * <p>One call goes through it in this order: {@link #reserve} the worst case before the model
 * is asked (refused with {@code BUDGET_EXHAUSTED}), then either {@link #release} when the call
 * failed, or {@link #record} inside the caller's durable transaction with
 * {@link #settle(Tx, Hold, Entry)} in the same transaction, so one commit makes both durable;
 * when that settle could not be done there (it returns false), {@link #settle(Hold, Entry)}
 * once the transaction committed. Implementations are thread-safe.
 *
 * <pre>{@code
 * UsageMeter.Hold hold = meter.reserve(caller, new UsageMeter.WorstCase("gpt-4o", candidates, promptTokens, maxTokens));
 * boolean[] settled = new boolean[1];
 * UsageMeter.Entry entry = commit.execute(tx -> {
 *     UsageMeter.Entry recorded = meter.record(tx, hold, usage);
 *     settled[0] = meter.settle(tx, hold, recorded);
 *     return recorded;
 * });
 * if (!settled[0]) {
 *     meter.settle(hold, entry);
 * }
 * }</pre>
 */
public interface UsageMeter {

    /**
     * Prices {@code worstCase} at its dearest candidate and holds that amount against the
     * caller's tenant and key budgets.
     *
     * @throws io.somastack.kernel.SomaException {@code BUDGET_EXHAUSTED} with what is left
     */
    Hold reserve(Principal caller, WorstCase worstCase);

    /** What {@code worstCase} costs at its dearest candidate, without holding it (a run checks its own budget with it). */
    Money price(WorstCase worstCase);

    /**
     * Writes {@code usage}, priced by the model that served, through {@code tx} only (the
     * caller's transaction, with its audit entry and other writes), for {@code hold}. A repeated
     * idempotency key returns the first entry with {@link Entry#created()} false.
     */
    Entry record(Tx tx, Hold hold, Usage usage);

    /**
     * Charges {@code entry}'s cost and frees {@code hold}, after the transaction of
     * {@link #record} committed. A failure here is not the caller's: the entry is durable and
     * an expired hold is settled from it later.
     */
    void settle(Hold hold, Entry entry);

    /**
     * Charges {@code entry}'s cost and frees {@code hold} in {@code tx}, the transaction of
     * {@link #record}, so that they commit (or roll back) together. Returns false when it could
     * not do so without waiting for another transaction; then {@link #settle(Hold, Entry)} after
     * the commit finishes it. A meter that cannot settle in a transaction returns false.
     */
    default boolean settle(Tx tx, Hold hold, Entry entry) {
        return false;
    }

    /** Frees {@code hold} of a call that produced nothing billable, or whose entry already existed. */
    void release(Hold hold);

    /** {@link #release(Hold)} in {@code tx}, returning false as {@link #settle(Tx, Hold, Entry)} does. */
    default boolean release(Tx tx, Hold hold) {
        return false;
    }

    /** The entry written under {@code idempotencyKey} for {@code tenant}, for a replayed answer's billing headers. */
    Optional<Entry> billedEarlier(TenantId tenant, String idempotencyKey);

    /** Budget held for one call until it settles. Made by {@link #reserve}; its meter reads it back. */
    interface Hold {
        /** Stored with the ledger entry, so that an expired hold can be settled from it. */
        UUID id();

        /** The worst-case cost held. */
        Money amount();
    }

    /** A provider and the model name it knows, one place a call may be served and priced. */
    record Candidate(String provider, String upstreamModel) {
        public Candidate {
            requireNonNull(provider, "provider is null");
            requireNonNull(upstreamModel, "upstreamModel is null");
        }
    }

    /**
     * The most a call may cost: {@code inputTokens} in and {@code outputTokens} out, at the price
     * of the dearest {@code candidate} of model id {@code alias}.
     */
    record WorstCase(String alias, List<Candidate> candidates, long inputTokens, long outputTokens) {
        public WorstCase {
            requireNonNull(alias, "alias is null");
            candidates = List.copyOf(candidates);
            if (inputTokens < 0 || outputTokens < 0) {
                throw new IllegalArgumentException("token counts must not be negative");
            }
        }
    }

    /**
     * One model call as billed: who, which model id and the provider and upstream model that
     * served it, the tokens (counted, or {@code estimated}), for which request, and for which
     * installed capsule, if any (an agent run's).
     */
    record Usage(TenantId tenant, UUID keyId, String requestId, Optional<String> idempotencyKey, String alias, String provider,
            String upstreamModel, long inputTokens, long outputTokens, boolean estimated, Optional<String> capsule) {
        public Usage {
            requireNonNull(tenant, "tenant is null");
            requireNonNull(keyId, "keyId is null");
            requireNonNull(requestId, "requestId is null");
            requireNonNull(idempotencyKey, "idempotencyKey is null");
            requireNonNull(alias, "alias is null");
            requireNonNull(provider, "provider is null");
            requireNonNull(upstreamModel, "upstreamModel is null");
            requireNonNull(capsule, "capsule is null");
            if (inputTokens < 0 || outputTokens < 0) {
                throw new IllegalArgumentException("token counts must not be negative");
            }
        }

        /** A call made for no capsule. */
        public Usage(TenantId tenant, UUID keyId, String requestId, Optional<String> idempotencyKey, String alias, String provider,
                String upstreamModel, long inputTokens, long outputTokens, boolean estimated) {
            this(tenant, keyId, requestId, idempotencyKey, alias, provider, upstreamModel, inputTokens, outputTokens, estimated, Optional.empty());
        }
    }

    /** A ledger entry: its id and cost; {@code created} is false when an idempotent retry found the first one. */
    record Entry(UUID id, Money cost, boolean created) {
        public Entry {
            requireNonNull(id, "id is null");
            requireNonNull(cost, "cost is null");
        }
    }
}
