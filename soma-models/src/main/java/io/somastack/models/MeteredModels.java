package io.somastack.models;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.gateway.Principal;
import io.somastack.gateway.RateLimiter;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.Tx;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The metered model call, one for every caller (the OpenAI-compatible routes, the agents' turn
 * loop, memory's embeddings): reserve the worst case against the caller's budgets, call the
 * routed provider (fallbacks and circuit breakers are the {@link ModelRouter}'s), then write the
 * usage record, the audit entry, the caller's own writes and the reservation's settlement in one
 * durable transaction (settling after it only when the budget row was busy) and charge the token
 * rate limit, all before the caller answers its client. A failed call releases its
 * reservation; a stream whose client left is billed for what was generated. Billing goes through a {@link UsageMeter}, which soma-metering implements.
 *
 * <p>Thread-safe; plain blocking code, meant for virtual threads. Example (a non-HTTP caller):
 * <pre>{@code
 * AuditEntry audit = new AuditEntry(Optional.of(caller.tenant().id()), caller.actor(), "agent.model.call", request.model(),
 *         runId.toString(), Map.of());
 * MeteredModels.Billed<ChatResult> billed = models.complete(caller, request, MeteredModels.Call.of(requestId, audit));
 * emit(new ModelCompleted(billed.ledgerId(), billed.result().usage(), billed.cost()));
 *
 * MeteredModels.Billed<ChatResult> streamed = models.stream(caller, request, MeteredModels.Call.of(requestId, audit),
 *         chunk -> events.delta(chunk));   // return false to stop generating; what ran is billed
 * }</pre>
 */
public final class MeteredModels {
    private static final Logger LOG = LoggerFactory.getLogger(MeteredModels.class);

    private final ModelRouter router;
    private final UsageMeter meter;
    private final GroupCommit commit;
    private final RateLimiter rateLimiter;
    private final MeterRegistry meters;
    private final int defaultMaxTokens;

    /**
     * @param defaultMaxTokens the output tokens reserved for a request that sets no {@code max_tokens}
     */
    public MeteredModels(ModelRouter router, UsageMeter meter, GroupCommit commit, RateLimiter rateLimiter, MeterRegistry meters,
            int defaultMaxTokens) {
        this.router = requireNonNull(router, "router is null");
        this.meter = requireNonNull(meter, "meter is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.rateLimiter = requireNonNull(rateLimiter, "rateLimiter is null");
        this.meters = requireNonNull(meters, "meters is null");
        if (defaultMaxTokens < 1) {
            throw new IllegalArgumentException("defaultMaxTokens must be positive");
        }
        this.defaultMaxTokens = defaultMaxTokens;
    }

    /** The router behind the calls, for its model list and circuit states. */
    public ModelRouter router() {
        return router;
    }

    /**
     * A call's result and what it was billed.
     *
     * @param entry the ledger entry: its id and cost
     */
    public record Billed<T>(T result, UsageMeter.Entry entry) {
        public Billed {
            requireNonNull(result, "result is null");
            requireNonNull(entry, "entry is null");
        }

        public UUID ledgerId() {
            return entry.id();
        }

        public Money cost() {
            return entry.cost();
        }
    }

    /** What served a call and the tokens it used, as the ledger records them. */
    public record Served(String provider, String upstreamModel, long inputTokens, long outputTokens, boolean estimated) {
    }

    /**
     * The facts of one call that go into the ledger and the audit log.
     *
     * @param requestId the request id the client saw (or the run's id), stored with the ledger entry
     * @param idempotencyKey a key that makes a retried call land in the ledger once
     * @param audit written to the hash-chained audit log in the call's transaction
     * @param extraWrites more writes for the same transaction (e.g. the idempotent response)
     * @param capsule the installed capsule the call is made for (an agent run's), stored with the ledger entry
     */
    public record Call<T>(String requestId, Optional<String> idempotencyKey, AuditEntry audit, BiConsumer<Tx, Billed<T>> extraWrites,
            Optional<String> capsule) {
        public Call {
            requireNonNull(requestId, "requestId is null");
            requireNonNull(idempotencyKey, "idempotencyKey is null");
            requireNonNull(audit, "audit is null");
            requireNonNull(extraWrites, "extraWrites is null");
            requireNonNull(capsule, "capsule is null");
        }

        /** A call made for no capsule (a client's own API call). */
        public Call(String requestId, Optional<String> idempotencyKey, AuditEntry audit, BiConsumer<Tx, Billed<T>> extraWrites) {
            this(requestId, idempotencyKey, audit, extraWrites, Optional.empty());
        }

        /** This call, made for the installed capsule {@code name}. */
        public Call<T> inCapsule(String name) {
            return new Call<>(requestId, idempotencyKey, audit, extraWrites, Optional.of(name));
        }

        /** A call without idempotency key or other writes. */
        public static <T> Call<T> of(String requestId, AuditEntry audit) {
            return new Call<>(requestId, Optional.empty(), audit, (tx, billed) -> { });
        }
    }

    /** Asks the routed provider for a whole completion, metered. */
    public Billed<ChatResult> complete(Principal caller, ChatRequest request, Call<ChatResult> call) {
        return chat(caller, request, call, router::complete);
    }

    /**
     * Streams a completion into {@code sink}, metered. When the sink returns false generation
     * stops and what was generated is billed ({@link ChatResult#clientGone()} is then true). The
     * ledger entry is durable when this returns, so the caller may end its stream after it.
     */
    public Billed<ChatResult> stream(Principal caller, ChatRequest request, Call<ChatResult> call, StreamSink sink) {
        return chat(caller, request, call, chat -> router.stream(chat, sink));
    }

    /** Prompt tokens plus the most output {@code request} may produce, at the dearest of its route's targets. */
    public UsageMeter.WorstCase worstCase(ChatRequest request) {
        Route route = router.route(request.model());
        return new UsageMeter.WorstCase(route.model(),
                route.targets().stream().map(target -> new UsageMeter.Candidate(target.providerName(), target.upstreamModel())).toList(),
                route.countPromptTokens(request), request.maxOutputTokens(defaultMaxTokens));
    }

    /** The entry of an earlier call made with {@code idempotencyKey}, for a replayed answer's billing headers. */
    public Optional<UsageMeter.Entry> billedEarlier(TenantId tenant, String idempotencyKey) {
        return meter.billedEarlier(tenant, idempotencyKey);
    }

    private Billed<ChatResult> chat(Principal caller, ChatRequest request, Call<ChatResult> call, Function<ChatRequest, ChatResult> invoke) {
        return meter(caller, worstCase(request), call, () -> invoke.apply(request),
                result -> new Served(result.provider(), result.model(), result.usage().inputTokens(), result.usage().outputTokens(),
                        result.usage().estimated()));
    }

    /**
     * Meters any model call (chat, embeddings): reserve {@code worstCase}, {@code invoke}, then
     * write the usage record, the audit entry, {@code call}'s extra writes and the settlement in
     * one durable transaction, and charge the token rate limit. A failed call releases its
     * reservation and is rethrown.
     */
    public <T> Billed<T> meter(Principal caller, UsageMeter.WorstCase worstCase, Call<T> call, Supplier<T> invoke, Function<T, Served> served) {
        String alias = worstCase.alias();
        UsageMeter.Hold hold = meter.reserve(caller, worstCase);
        T result;
        try {
            result = invoke.get();
        } catch (RuntimeException e) {
            meter.release(hold);
            if (e instanceof SomaException soma) {
                meters.counter("soma.provider.errors", "model", alias, "code", soma.code().name()).increment();
            }
            throw e;
        }
        Served usage = served.apply(result);
        UsageMeter.Usage record = new UsageMeter.Usage(caller.tenant().id(), caller.keyId(), call.requestId(), call.idempotencyKey(),
                alias, usage.provider(), usage.upstreamModel(), usage.inputTokens(), usage.outputTokens(), usage.estimated(), call.capsule());
        // The hold is settled in the ledger's transaction when its budget row is free: one commit
        // for ledger row, audit entry, outbox event and settle. If the transaction fails, the hold
        // stays: whether the entry committed is then unknown, and the sweeper settles an expired
        // hold from the ledger, so it is charged exactly once.
        Committed<T> committed = commit.execute(tx -> {
            Billed<T> done = new Billed<>(result, meter.record(tx, hold, record));
            tx.audit(call.audit());
            call.extraWrites().accept(tx, done);
            return new Committed<>(done, done.entry().created() ? meter.settle(tx, hold, done.entry()) : meter.release(tx, hold));
        });
        Billed<T> billed = committed.billed();
        if (!committed.settled() && billed.entry().created()) {
            settleQuietly(hold, billed.entry());
        } else if (!committed.settled()) {
            meter.release(hold);
        }
        rateLimiter.charge(caller, usage.inputTokens() + usage.outputTokens());
        String tenant = caller.tenant().id().toString();
        meters.counter("soma.tokens", "tenant", tenant, "model", alias, "direction", "input").increment(usage.inputTokens());
        meters.counter("soma.tokens", "tenant", tenant, "model", alias, "direction", "output").increment(usage.outputTokens());
        meters.counter("soma.spend.usd", "tenant", tenant, "model", alias).increment(billed.entry().cost().amount().doubleValue());
        return billed;
    }

    /** What the call's transaction committed, and whether its hold was settled (or released) in it. */
    private record Committed<T>(Billed<T> billed, boolean settled) {
    }

    /** The ledger row is durable; if settling fails now, the sweeper settles it from the ledger later. */
    private void settleQuietly(UsageMeter.Hold hold, UsageMeter.Entry entry) {
        try {
            meter.settle(hold, entry);
        } catch (RuntimeException e) {
            LOG.warn("Settling reservation {} failed ({}); the sweeper will settle it from the ledger", hold.id(), e.getMessage());
        }
    }
}
