package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.Principal;
import io.somastack.gateway.Tenant;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.models.UsageMeter;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.OneGroup;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Budget leases per node, through the model calls' {@link UsageMeter} on a real PostgreSQL: calls
 * held in memory against a lease are charged exactly when it is returned or reclaimed, a lease
 * belongs to one period and one limit, and near the limit calls are held one by one.
 */
class BudgetLeasesTest {
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-30T23:59:00Z"));
    private final Clock clock = now::get;
    private final TenantId tenant = new TenantId(UUID.randomUUID());
    private final AtomicInteger requests = new AtomicInteger();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private MeteringFixture fixture;
    private Database database;
    private GroupCommit commit;
    private Metering metering;
    private UsageMeter meter;
    private BudgetLeases leases;

    @BeforeEach
    void start() {
        // Not started: the test renews, returns and sweeps by hand, on its own clock.
        fixture = MeteringFixture.create(clock, LeaseConfig.DEFAULTS, meters);
        database = fixture.database();
        commit = fixture.commit();
        metering = fixture.metering();
        meter = metering.usageMeter();
        leases = metering.leases().orElseThrow();
    }

    @AfterEach
    void stop() {
        fixture.close();
    }

    private Principal caller(String limit) {
        return new Principal(new Tenant(tenant, "acme", "default", "local", Optional.of(Money.of(limit)), now.get()),
                UUID.randomUUID(), Set.of("*"), Optional.empty(), Principal.Via.API_KEY);
    }

    /** Worst case 0.2 (200 tokens at 1,000 USD per million). */
    private UsageMeter.Hold reserve(Principal caller) {
        return meter.reserve(caller, new UsageMeter.WorstCase("m", List.of(new UsageMeter.Candidate("local", "m")), 100, 100));
    }

    /**
     * What MeteredModels does once the model answered: ledger row and settle in one transaction, or the settle after
     * the commit when the budget row was busy (a per-call hold only); costs 0.1.
     */
    private void bill(UsageMeter.Hold hold) {
        boolean[] settled = new boolean[1];
        UsageMeter.Entry entry = commit.execute(tx -> {
            UsageMeter.Entry recorded = record(tx, hold);
            settled[0] = meter.settle(tx, hold, recorded);
            return recorded;
        });
        if (!settled[0]) {
            meter.settle(hold, entry);
        }
    }

    /** Five calls billed against one lease (0.5 in its ledger rows), and a sixth reserved from it and not yet billed. */
    private UsageMeter.Hold fiveBilledAndOneInFlight(Principal caller) {
        for (int i = 0; i < 5; i++) {
            bill(reserve(caller));
        }
        return reserve(caller);
    }

    /** The ledger row of a call of model {@code m} (50 tokens each way: 0.1) against {@code hold}, in {@code tx}. */
    private UsageMeter.Entry record(Tx tx, UsageMeter.Hold hold) {
        return meter.record(tx, hold, new UsageMeter.Usage(tenant, UUID.randomUUID(), "req-" + requests.incrementAndGet(), Optional.empty(),
                "m", "local", "m", 50, 50, false));
    }

    private BigDecimal sum(String sql) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).bind("tenant", tenant.value()).mapTo(BigDecimal.class).one());
    }

    private BigDecimal spent() {
        return sum("SELECT COALESCE(sum(spent), 0) FROM budget_spend WHERE tenant_id = :tenant");
    }

    private BigDecimal reserved() {
        return sum("SELECT COALESCE(sum(reserved), 0) FROM budget_spend WHERE tenant_id = :tenant");
    }

    private BigDecimal ledger() {
        return sum("SELECT COALESCE(sum(cost), 0) FROM usage_ledger WHERE tenant_id = :tenant");
    }

    private int leaseRows() {
        return sum("SELECT count(*) FROM budget_leases WHERE tenant_id = :tenant").intValue();
    }

    private double holds(String source) {
        return meters.counter("soma.budget.holds", "source", source).count();
    }

    @Test
    void callsAreHeldInMemoryAgainstOneLeaseAndChargedExactlyWhenItIsReturned() {
        Principal caller = caller("10.00");
        // Each call takes its worst case (0.2) from the slice and gives back what it did not cost (0.1): ten fit in 1.6.
        for (int i = 0; i < 10; i++) {
            bill(reserve(caller));
        }
        assertThat(holds("lease")).isEqualTo(10);
        assertThat(holds("call")).isZero();
        assertThat(leaseRows()).isEqualTo(1);
        // Worst case 0.2 × 8 = 1.6, under half of what remains: the lease's slice is reserved for every other node to see.
        assertThat(reserved()).isEqualByComparingTo("1.6");
        assertThat(spent()).isZero();

        leases.close();

        assertThat(ledger()).isEqualByComparingTo("1.0");
        assertThat(spent()).isEqualByComparingTo("1.0");
        assertThat(reserved()).isZero();
        assertThat(leaseRows()).isZero();
    }

    @Test
    void aCallOfAnUnpricedModelIsServedByALeaseAndStillRefusedWhenTheBudgetIsOverItsLimit() {
        Principal caller = caller("10.00");
        UsageMeter.WorstCase free = new UsageMeter.WorstCase("free", List.of(new UsageMeter.Candidate("local", "free")), 100, 100);
        for (int i = 0; i < 5; i++) {
            UsageMeter.Hold hold = meter.reserve(caller, free);
            commit.execute(tx -> {
                UsageMeter.Entry recorded = meter.record(tx, hold, new UsageMeter.Usage(tenant, UUID.randomUUID(),
                        "req-" + requests.incrementAndGet(), Optional.empty(), "free", "local", "free", 50, 50, false));
                meter.settle(tx, hold, recorded);
                return recorded;
            });
        }
        // A worst case of 0 takes 0 from a lease of 0: no hold of its own, nothing reserved.
        assertThat(holds("lease")).isEqualTo(5);
        assertThat(holds("call")).isZero();
        assertThat(leaseRows()).isEqualTo(1);
        assertThat(reserved()).isZero();

        // Spent above the limit (an operator lowered it to 5.00 after 10.00 were spent): refused, as a per-call hold is.
        database.jdbi().useHandle(handle -> handle.createUpdate("UPDATE budget_spend SET spent = 10 WHERE tenant_id = :tenant")
                .bind("tenant", tenant.value()).execute());
        assertThatThrownBy(() -> meter.reserve(caller("5.00"), free)).isInstanceOf(SomaException.class)
                .extracting(e -> ((SomaException) e).code()).isEqualTo(ErrorCode.BUDGET_EXHAUSTED);
        leases.close();
        assertThat(reserved()).isZero();
        assertThat(leaseRows()).isZero();
        assertThat(ledger()).isZero();
    }

    @Test
    void aLeasedCallMakesOneWriteTransactionItsLedgerRowsAndNoHoldOfItsOwn() {
        Principal caller = caller("10.00");
        long before = transactionId();

        for (int i = 0; i < 10; i++) {
            bill(reserve(caller));
        }

        // One for the lease, then one per call (ledger row with the lease read FOR KEY SHARE); per call holds take two
        // (MeteredModelsTest): the hold's own commit and the ledger's.
        assertThat(transactionId() - before - 1).as("write transactions for 10 calls").isEqualTo(1 + 10);
        leases.close();
        assertThat(spent()).isEqualByComparingTo(ledger());
    }

    private long transactionId() {
        return database.jdbi().withHandle(handle -> handle.createQuery("SELECT txid_current()").mapTo(Long.class).one());
    }

    @Test
    void nearTheLimitCallsAreHeldOneByOneAndNeverPastIt() {
        Principal caller = caller("4.00");
        List<UsageMeter.Hold> open = new ArrayList<>();
        // Held, never settled: each keeps its worst case (0.2) until the end.
        assertThatThrownBy(() -> {
            while (true) {
                open.add(reserve(caller));
            }
        }).isInstanceOf(SomaException.class).extracting(e -> ((SomaException) e).code()).isEqualTo(ErrorCode.BUDGET_EXHAUSTED);

        // A lease of 1.6 (8 worst cases, under half of 4.00) holds eight calls; the next lease would be at most half of
        // the 2.4 left, less than 8 worst cases: near the limit, per call, twelve more; nothing is stranded.
        assertThat(open).hasSize(20);
        assertThat(holds("lease")).isEqualTo(8);
        assertThat(holds("call")).isEqualTo(12);
        assertThat(sum("SELECT COALESCE(sum(spent + reserved), 0) FROM budget_spend WHERE tenant_id = :tenant"))
                .isEqualByComparingTo("4.00");

        open.forEach(this::bill);
        leases.close();
        assertThat(spent()).isEqualByComparingTo("2.0").isEqualByComparingTo(ledger());
        assertThat(reserved()).isZero();
    }

    @Test
    void aLeaseBelongsToOnePeriodAndOneLimit() {
        bill(reserve(caller("10.00")));
        // The month turns: December's calls lease December's budget.
        now.set(Instant.parse("2026-12-01T00:00:01Z"));
        bill(reserve(caller("10.00")));
        // The limit changes: the lease taken under the old one goes back (0.1 spent), a new one is taken under the new
        // limit: half of the 4.9 left.
        bill(reserve(caller("5.00")));
        assertThat(leaseRows()).isEqualTo(2);
        assertThat(sum("SELECT amount FROM budget_leases WHERE tenant_id = :tenant AND period = '2026-12-01'")).isEqualByComparingTo("2.45");

        // Both go back once idle.
        now.set(now.get().plus(Duration.ofSeconds(3)));
        leases.maintain();
        awaitNoLeases();

        assertThat(sum("SELECT spent FROM budget_spend WHERE tenant_id = :tenant AND period = '2026-11-01'")).isEqualByComparingTo("0.1");
        assertThat(sum("SELECT spent FROM budget_spend WHERE tenant_id = :tenant AND period = '2026-12-01'")).isEqualByComparingTo("0.2");
        assertThat(reserved()).isZero();
    }

    @Test
    void theSweeperChargesTheLedgerRowsOfALeaseThatExpiredAndACallStillInFlightChargesItself() {
        Principal caller = caller("10.00");
        UsageMeter.Hold inFlight = fiveBilledAndOneInFlight(caller);
        // The node stops renewing (it died, or stalled past the lease's TTL).
        assertThat(metering.sweep()).isZero();
        now.set(now.get().plus(Duration.ofSeconds(16)));
        assertThat(metering.sweep()).isEqualTo(1);
        assertThat(leaseRows()).isZero();
        assertThat(spent()).isEqualByComparingTo("0.5").isEqualByComparingTo(ledger());
        assertThat(reserved()).isZero();

        // A call of the stalled node finishes after its lease was settled: its transaction charges it.
        bill(inFlight);
        assertThat(spent()).isEqualByComparingTo("0.6").isEqualByComparingTo(ledger());
        // Renewing finds the lease gone and forgets it; nothing is returned twice.
        leases.maintain();
        leases.close();
        assertThat(spent()).isEqualByComparingTo("0.6");
        assertThat(reserved()).isZero();
    }

    @Test
    void oneGroupConfirmsTheLeasesOfAllItsCallsAndChargesTheCallWhoseLeaseWasSettledMeanwhile() {
        Principal caller = caller("10.00");
        UsageMeter.Hold stalled = fiveBilledAndOneInFlight(caller);
        // The first lease expires and is settled by the sweeper; renewing finds it gone, so the next calls take a new lease.
        now.set(now.get().plus(Duration.ofSeconds(16)));
        assertThat(metering.sweep()).isEqualTo(1);
        leases.maintain();
        List<UsageMeter.Hold> fresh = List.of(reserve(caller), reserve(caller));
        assertThat(fresh.getFirst().id()).isNotEqualTo(stalled.id()).isEqualTo(fresh.getLast().id());

        // Queued behind the held committer, the three calls commit as one group.
        List<CompletableFuture<Boolean>> group = OneGroup.submit(commit, Stream.of(stalled, fresh.getFirst(), fresh.getLast())
                .<Function<Tx, Boolean>>map(hold -> tx -> {
                    assertThat(meter.settle(tx, hold, record(tx, hold))).isTrue();
                    return tx.shared();
                }).toList());

        assertThat(group).allSatisfy(shared -> assertThat(shared.join()).as("committed in a shared transaction").isTrue());
        assertThat(meters.counter("soma.budget.leases", "event", "charged-after-settle").count()).isEqualTo(1);
        assertThat(spent()).as("the stalled call charged itself").isEqualByComparingTo("0.6");
        leases.close();
        assertThat(ledger()).isEqualByComparingTo("0.8");
        assertThat(spent()).isEqualByComparingTo(ledger());
        assertThat(reserved()).isZero();
        assertThat(leaseRows()).isZero();
    }

    @Test
    void aLedgerTransactionHoldingTheBudgetRowAndConfirmingALeaseNeverDeadlocksWithTheSweeper() throws Exception {
        UsageMeter.Hold inFlight = fiveBilledAndOneInFlight(caller("10.00"));
        now.set(now.get().plus(Duration.ofSeconds(16)));
        AtomicReference<Integer> swept = new AtomicReference<>();
        AtomicReference<Thread> sweeper = new AtomicReference<>();

        commit.execute(tx -> {
            // As a group does: another call's per-call settle took the budget row first ...
            tx.handle().createUpdate("UPDATE budget_spend SET spent = spent WHERE tenant_id = :tenant").bind("tenant", tenant.value()).execute();
            if (sweeper.get() == null) {
                // ... while a sweeper reclaims the expired lease ...
                sweeper.set(Thread.ofVirtual().start(() -> swept.set(metering.sweep())));
                awaitALockWait();
            }
            // ... and then this call's confirm asks for the lease row.
            UsageMeter.Entry recorded = meter.record(tx, inFlight, new UsageMeter.Usage(tenant, UUID.randomUUID(), "req-in-flight",
                    Optional.empty(), "m", "local", "m", 50, 50, false));
            meter.settle(tx, inFlight, recorded);
            return recorded;
        });
        sweeper.get().join(Duration.ofSeconds(10));

        assertThat(swept.get()).as("the sweeper settled the lease, not a deadlock victim").isEqualTo(1);
        assertThat(leaseRows()).isZero();
        assertThat(ledger()).isEqualByComparingTo("0.6");
        assertThat(spent()).as("each call charged once").isEqualByComparingTo(ledger());
        assertThat(reserved()).isZero();
    }

    /** Waits until a session of this database waits for a lock. */
    private void awaitALockWait() {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            int waiting = database.jdbi().withHandle(handle -> handle.createQuery(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
                    .mapTo(Integer.class).one());
            if (waiting > 0) {
                return;
            }
        }
        throw new AssertionError("the sweeper never waited for the budget row");
    }

    private void awaitNoLeases() {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (leaseRows() > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(leaseRows()).as("leases returned").isZero();
    }
}
