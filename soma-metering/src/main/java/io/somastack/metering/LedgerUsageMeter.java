package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.Principal;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.models.UsageMeter;
import io.somastack.store.Tx;
import java.time.Instant;
import java.util.Comparator;
import java.util.Optional;
import java.util.UUID;

/**
 * The {@link UsageMeter} of model calls: prices from the {@link PriceBook}, holds in
 * {@link Budgets}, rows in the {@link Ledger}. A call is priced by the model that served it: by
 * {@code provider/upstream-model}, else the upstream model, else the alias the client named;
 * an unpriced model is free (start-up warns about remote ones). Thread-safe.
 */
public final class LedgerUsageMeter implements UsageMeter {
    private final PriceBook prices;
    private final Budgets budgets;
    private final Ledger ledger;
    private final Clock clock;

    public LedgerUsageMeter(PriceBook prices, Budgets budgets, Ledger ledger, Clock clock) {
        this.prices = requireNonNull(prices, "prices is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.ledger = requireNonNull(ledger, "ledger is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public Hold reserve(Principal caller, WorstCase worstCase) {
        return new Held(budgets.reserve(caller.tenant().id(), caller.keyId(), caller.tenant().monthlyBudget(), caller.keyBudget(),
                price(worstCase)));
    }

    @Override
    public Money price(WorstCase worstCase) {
        Instant now = clock.now();
        return worstCase.candidates().stream()
                .map(candidate -> price(worstCase.alias(), candidate.provider(), candidate.upstreamModel(), now)
                        .cost(worstCase.inputTokens(), worstCase.outputTokens()))
                .max(Comparator.naturalOrder()).orElse(Money.ZERO);
    }

    @Override
    public Entry record(Tx tx, Hold hold, Usage usage) {
        Price price = price(usage.alias(), usage.provider(), usage.upstreamModel(), clock.now());
        UsageRecord record = new UsageRecord(usage.tenant(), usage.keyId(), usage.requestId(), usage.idempotencyKey(), usage.alias(),
                usage.provider(), usage.upstreamModel(), usage.inputTokens(), usage.outputTokens(), usage.estimated(), price, usage.capsule());
        Ledger.Entry entry = ledger.record(tx, record, hold.id());
        return new Entry(entry.id(), entry.cost(), entry.created());
    }

    @Override
    public void settle(Hold hold, Entry entry) {
        budgets.settle(reservation(hold), entry.cost());
    }

    @Override
    public boolean settle(Tx tx, Hold hold, Entry entry) {
        return budgets.settle(tx, reservation(hold), entry.cost());
    }

    @Override
    public boolean release(Tx tx, Hold hold) {
        return budgets.release(tx, reservation(hold));
    }

    @Override
    public void release(Hold hold) {
        budgets.release(reservation(hold));
    }

    @Override
    public Optional<Entry> billedEarlier(TenantId tenant, String idempotencyKey) {
        return ledger.find(tenant, idempotencyKey).map(entry -> new Entry(entry.id(), entry.cost(), entry.created()));
    }

    /** The price of the model that served: by its upstream name, else by the alias; free if unpriced. */
    private Price price(String alias, String provider, String upstreamModel, Instant at) {
        return prices.price(provider + "/" + upstreamModel, at)
                .or(() -> prices.price(upstreamModel, at))
                .or(() -> prices.price(alias, at))
                .orElseGet(() -> Price.free(upstreamModel));
    }

    private static Reservation reservation(Hold hold) {
        if (hold instanceof Held held) {
            return held.reservation();
        }
        throw new IllegalArgumentException("Hold %s was not made by this meter".formatted(hold.id()));
    }

    /** A budget reservation, as the models capability holds it. */
    private record Held(Reservation reservation) implements Hold {
        @Override
        public UUID id() {
            return reservation.id();
        }

        @Override
        public Money amount() {
            return reservation.amount();
        }
    }
}
