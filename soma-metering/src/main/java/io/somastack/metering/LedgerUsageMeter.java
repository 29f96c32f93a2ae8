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
 * The {@link UsageMeter} of model calls: prices from the {@link PriceBook}, holds from this
 * node's {@link BudgetLeases} when the tenant's budget is the only limit (in memory, no round
 * trip), else per call in {@link Budgets}, rows in the {@link Ledger}. A call is priced by the model that served it: by
 * {@code provider/upstream-model}, else the upstream model, else the alias the client named;
 * an unpriced model is free (start-up warns about remote ones). Thread-safe.
 */
public final class LedgerUsageMeter implements UsageMeter {
    private final PriceBook prices;
    private final Budgets budgets;
    private final Optional<BudgetLeases> leases;
    private final Ledger ledger;
    private final Clock clock;

    /** Every hold per call (no leases). */
    public LedgerUsageMeter(PriceBook prices, Budgets budgets, Ledger ledger, Clock clock) {
        this(prices, budgets, Optional.empty(), ledger, clock);
    }

    public LedgerUsageMeter(PriceBook prices, Budgets budgets, Optional<BudgetLeases> leases, Ledger ledger, Clock clock) {
        this.prices = requireNonNull(prices, "prices is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.leases = requireNonNull(leases, "leases is null");
        this.ledger = requireNonNull(ledger, "ledger is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * From this node's lease when the tenant's monthly budget is the call's only limit and a lease
     * holds it; else (a key budget too, near the limit, leases off) one hold per call.
     */
    @Override
    public Hold reserve(Principal caller, WorstCase worstCase) {
        Money amount = price(worstCase);
        Optional<Money> tenantLimit = caller.tenant().monthlyBudget();
        if (leases.isPresent() && tenantLimit.isPresent() && caller.keyBudget().isEmpty()) {
            Optional<BudgetLeases.Hold> leased = leases.get().take(caller.tenant().id(), tenantLimit.get(), amount);
            if (leased.isPresent()) {
                return new Leased(leased.get());
            }
        }
        return new Held(budgets.reserve(caller.tenant().id(), caller.keyId(), tenantLimit, caller.keyBudget(), amount));
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
        switch (held(hold)) {
            case Held held -> budgets.settle(held.reservation(), entry.cost());
            case Leased leased -> leases.orElseThrow().settle(leased.hold(), entry.cost());
        }
    }

    @Override
    public boolean settle(Tx tx, Hold hold, Entry entry) {
        return switch (held(hold)) {
            case Held held -> budgets.settle(tx, held.reservation(), entry.cost());
            case Leased leased -> {
                leases.orElseThrow().settle(tx, leased.hold(), entry.cost());
                yield true;
            }
        };
    }

    @Override
    public boolean release(Tx tx, Hold hold) {
        return switch (held(hold)) {
            case Held held -> budgets.release(tx, held.reservation());
            case Leased leased -> {
                leases.orElseThrow().release(leased.hold());
                yield true;
            }
        };
    }

    @Override
    public void release(Hold hold) {
        switch (held(hold)) {
            case Held held -> budgets.release(held.reservation());
            case Leased leased -> leases.orElseThrow().release(leased.hold());
        }
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

    private static MeterHold held(Hold hold) {
        if (hold instanceof MeterHold held) {
            return held;
        }
        throw new IllegalArgumentException("Hold %s was not made by this meter".formatted(hold.id()));
    }

    /** The holds this meter makes: a reservation per call, or a part of this node's lease. */
    private sealed interface MeterHold extends Hold permits Held, Leased {
    }

    /** A call's part of this node's lease; its ledger row names the lease. */
    private record Leased(BudgetLeases.Hold hold) implements MeterHold {
        @Override
        public UUID id() {
            return hold.leaseId();
        }

        @Override
        public Money amount() {
            return hold.amount();
        }
    }

    /** A budget reservation, as the models capability holds it. */
    private record Held(Reservation reservation) implements MeterHold {
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
