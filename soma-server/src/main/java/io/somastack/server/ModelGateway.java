package io.somastack.server;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.gateway.Principal;
import io.somastack.gateway.RateLimiter;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.metering.Budgets;
import io.somastack.metering.Ledger;
import io.somastack.metering.Price;
import io.somastack.metering.PriceBook;
import io.somastack.metering.Reservation;
import io.somastack.metering.UsageRecord;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.ModelRouter;
import io.somastack.models.Route;
import io.somastack.models.RouteTarget;
import io.somastack.models.StreamSink;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.Tx;
import java.util.Comparator;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One metered model call, the way every caller gets it: reserve the worst case against the
 * budgets, call the routed provider, then write the usage record, settle the reservation
 * and the audit entry in one durable transaction before the caller answers its client. A
 * failed call releases its reservation; a stream the client abandoned is billed for what
 * was generated. Thread-safe.
 */
public final class ModelGateway {
    private static final Logger LOG = LoggerFactory.getLogger(ModelGateway.class);

    private final ModelRouter router;
    private final PriceBook priceBook;
    private final Budgets budgets;
    private final Ledger ledger;
    private final GroupCommit commit;
    private final RateLimiter rateLimiter;
    private final MeterRegistry meters;
    private final Clock clock;
    private final int defaultMaxTokens;

    public ModelGateway(ModelRouter router, PriceBook priceBook, Budgets budgets, Ledger ledger, GroupCommit commit,
            RateLimiter rateLimiter, MeterRegistry meters, Clock clock, int defaultMaxTokens) {
        this.router = requireNonNull(router, "router is null");
        this.priceBook = requireNonNull(priceBook, "priceBook is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.ledger = requireNonNull(ledger, "ledger is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.rateLimiter = requireNonNull(rateLimiter, "rateLimiter is null");
        this.meters = requireNonNull(meters, "meters is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.defaultMaxTokens = defaultMaxTokens;
    }

    public ModelRouter router() {
        return router;
    }

    /** A call's result and what it was billed. */
    public record Billed<T>(T result, Ledger.Entry entry) {
    }

    /** The ledger entry of an earlier call made with {@code idempotencyKey}, for a replayed answer's billing headers. */
    Optional<Ledger.Entry> billedEarlier(io.somastack.kernel.TenantId tenant, String idempotencyKey) {
        return ledger.find(tenant, idempotencyKey);
    }

    /** What served a call and the tokens it used, as the ledger records them. */
    public record Served(String provider, String upstreamModel, long inputTokens, long outputTokens, boolean estimated) {
    }

    public Billed<ChatResult> complete(Principal principal, ChatRequest request, Call<ChatResult> call) {
        return chat(principal, request, call, router::complete);
    }

    public Billed<ChatResult> stream(Principal principal, ChatRequest request, Call<ChatResult> call, StreamSink sink) {
        return chat(principal, request, call, chat -> router.stream(chat, sink));
    }

    /**
     * Facts of the HTTP call that go into the ledger and audit log.
     *
     * @param extraWrites more writes for the same transaction (e.g. the idempotent response)
     */
    public record Call<T>(String requestId, Optional<String> idempotencyKey, AuditEntry audit, BiConsumer<Tx, Billed<T>> extraWrites) {
    }

    private Billed<ChatResult> chat(Principal principal, ChatRequest request, Call<ChatResult> call,
            Function<ChatRequest, ChatResult> invoke) {
        Route route = router.route(request.model());
        return meter(principal, route.model(), worstCase(route, request), call, () -> invoke.apply(request),
                result -> new Served(result.provider(), result.model(), result.usage().inputTokens(), result.usage().outputTokens(),
                        result.usage().estimated()));
    }

    /**
     * Meters any model call (chat, embeddings): reserve {@code worstCase}, invoke, then write the
     * usage record, the audit entry and {@code call}'s extra writes in one durable transaction,
     * settle, and charge the token rate limit. A failed call releases its reservation.
     */
    public <T> Billed<T> meter(Principal principal, String alias, Money worstCase, Call<T> call, Supplier<T> invoke,
            Function<T, Served> served) {
        Reservation reservation = budgets.reserve(principal.tenant().id(), principal.keyId(), principal.tenant().monthlyBudget(),
                principal.keyBudget(), worstCase);
        T result;
        try {
            result = invoke.get();
        } catch (RuntimeException e) {
            budgets.release(reservation);
            if (e instanceof SomaException soma) {
                meters.counter("soma.provider.errors", "model", alias, "code", soma.code().name()).increment();
            }
            throw e;
        }
        Served usage = served.apply(result);
        Price price = price(alias, usage.provider(), usage.upstreamModel());
        UsageRecord record = new UsageRecord(principal.tenant().id(), principal.keyId(), call.requestId(), call.idempotencyKey(),
                alias, usage.provider(), usage.upstreamModel(), usage.inputTokens(), usage.outputTokens(), usage.estimated(), price);
        Billed<T> billed = commit.execute(tx -> {
            Billed<T> done = new Billed<>(result, ledger.record(tx, record, reservation.id()));
            tx.audit(call.audit());
            call.extraWrites().accept(tx, done);
            return done;
        });
        if (billed.entry().created()) {
            settleQuietly(reservation, billed.entry().cost());
        } else {
            budgets.release(reservation);
        }
        rateLimiter.charge(principal, usage.inputTokens() + usage.outputTokens());
        String tenant = principal.tenant().id().toString();
        meters.counter("soma.tokens", "tenant", tenant, "model", alias, "direction", "input").increment(usage.inputTokens());
        meters.counter("soma.tokens", "tenant", tenant, "model", alias, "direction", "output").increment(usage.outputTokens());
        meters.counter("soma.spend.usd", "tenant", tenant, "model", alias).increment(billed.entry().cost().amount().doubleValue());
        return billed;
    }

    /** The price of {@code tokens} of input to {@code model} by {@code provider}, for worst-case reservations. */
    public Money inputCost(String alias, String provider, String model, long tokens) {
        return price(alias, provider, model).cost(tokens, 0);
    }

    /** The ledger row is durable; if settling fails now, the sweeper settles it from the ledger later. */
    private void settleQuietly(Reservation reservation, Money cost) {
        try {
            budgets.settle(reservation, cost);
        } catch (RuntimeException e) {
            LOG.warn("Settling reservation {} failed ({}); the sweeper will settle it from the ledger", reservation.id(), e.getMessage());
        }
    }

    /** Prompt tokens plus the most output the call may produce, at the dearest target's price. */
    private Money worstCase(Route route, ChatRequest request) {
        long prompt = route.countPromptTokens(request);
        long output = request.maxOutputTokens(defaultMaxTokens);
        return route.targets().stream()
                .map((RouteTarget target) -> price(route.model(), target.providerName(), target.upstreamModel()).cost(prompt, output))
                .max(Comparator.naturalOrder()).orElse(Money.ZERO);
    }

    /** The price of the model that served: by its upstream name, else by the alias; free if unpriced. */
    private Price price(String alias, String provider, String upstreamModel) {
        var now = clock.now();
        return priceBook.price(provider + "/" + upstreamModel, now)
                .or(() -> priceBook.price(upstreamModel, now))
                .or(() -> priceBook.price(alias, now))
                .orElseGet(() -> Price.free(upstreamModel));
    }
}
