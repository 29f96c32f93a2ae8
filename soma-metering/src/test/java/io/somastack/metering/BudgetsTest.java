package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BudgetsTest {
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-25T10:00:00Z"));
    private final Clock clock = now::get;
    private final TenantId tenant = new TenantId(UUID.randomUUID());
    private final UUID key = UUID.randomUUID();
    private final Optional<Money> limit = Optional.of(Money.of("1.00"));
    private Database database;
    private GroupCommit commit;
    private Budgets budgets;
    private Ledger ledger;

    @BeforeEach
    void start() {
        database = TestDatabase.create();
        Ids ids = new Ids(clock);
        commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 16, 1);
        budgets = new Budgets(database.asyncCommitDataSource(), clock, ids, Duration.ofMinutes(10), new SimpleMeterRegistry());
        ledger = new Ledger(database.jdbi(), clock, ids);
    }

    @AfterEach
    void stop() {
        commit.close();
        database.close();
    }

    private BigDecimal column(String column) {
        return database.jdbi().withHandle(handle -> handle.createQuery("SELECT " + column + " FROM budget_spend WHERE tenant_id = :tenant")
                .bind("tenant", tenant.value()).mapTo(BigDecimal.class).one());
    }

    private void bill(Reservation reservation, long tokens) {
        Price price = new Price("m", Money.of("1000"), Money.of("1000"), Instant.EPOCH);
        UsageRecord usage = new UsageRecord(tenant, key, "req", Optional.empty(), "m", "p", "m", tokens, 0, false, price);
        commit.execute(tx -> ledger.record(tx, usage, reservation.id()));
    }

    @Test
    void refusesWhatDoesNotFitAndSaysWhatRemains() {
        budgets.reserve(tenant, key, limit, Optional.empty(), Money.of("0.70"));

        assertThatThrownBy(() -> budgets.reserve(tenant, key, limit, Optional.empty(), Money.of("0.40")))
                .isInstanceOfSatisfying(SomaException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.BUDGET_EXHAUSTED);
                    assertThat(e.extensions()).containsEntry("remaining", "0.30");
                });
    }

    @Test
    void settlingChargesTheActualCostAndFreesTheRest() {
        Reservation reservation = budgets.reserve(tenant, key, limit, Optional.empty(), Money.of("0.70"));
        bill(reservation, 200);

        budgets.settle(reservation, Money.of("0.20"));

        assertThat(column("spent")).isEqualByComparingTo("0.20");
        assertThat(column("reserved")).isEqualByComparingTo("0");
        budgets.reserve(tenant, key, limit, Optional.empty(), Money.of("0.80"));
    }

    @Test
    void theSweeperSettlesFromTheLedgerWhenANodeDiedAfterBilling() {
        Reservation billed = budgets.reserve(tenant, key, limit, Optional.empty(), Money.of("0.50"));
        bill(billed, 100);
        budgets.reserve(tenant, key, limit, Optional.empty(), Money.of("0.40"));
        now.set(now.get().plus(Duration.ofMinutes(11)));

        assertThat(budgets.sweepExpired()).isEqualTo(2);

        assertThat(column("spent")).as("the billed call is charged from its ledger row").isEqualByComparingTo("0.10");
        assertThat(column("reserved")).isEqualByComparingTo("0");
    }

    @Test
    void aSettleAfterTheSweepDoesNothing() {
        Reservation reservation = budgets.reserve(tenant, key, limit, Optional.empty(), Money.of("0.50"));
        bill(reservation, 100);
        now.set(now.get().plus(Duration.ofMinutes(11)));
        budgets.sweepExpired();

        budgets.settle(reservation, Money.of("0.10"));

        assertThat(column("spent")).isEqualByComparingTo("0.10");
    }

    @Test
    void settlingInTheLedgerTransactionCommitsWithTheRowAndOnlyOnce() {
        Reservation reservation = budgets.reserve(tenant, key, limit, Optional.of(Money.of("0.90")), Money.of("0.70"));
        Price price = new Price("m", Money.of("1000"), Money.of("1000"), Instant.EPOCH);
        UsageRecord usage = new UsageRecord(tenant, key, "req", Optional.empty(), "m", "p", "m", 200, 0, false, price);

        boolean settled = commit.execute(tx -> {
            Ledger.Entry entry = ledger.record(tx, usage, reservation.id());
            return budgets.settle(tx, reservation, entry.cost());
        });
        budgets.settle(reservation, Money.of("0.20"));
        now.set(now.get().plus(Duration.ofMinutes(11)));

        assertThat(settled).isTrue();
        assertThat(budgets.sweepExpired()).as("no reservation row is left to sweep").isZero();
        assertThat(column("sum(spent)")).as("tenant and key scope, each charged once").isEqualByComparingTo("0.40");
        assertThat(column("sum(reserved)")).isEqualByComparingTo("0");
    }

    @Test
    void aBudgetRowLockedElsewhereIsLeftForTheSettleAfterCommit() throws Exception {
        Reservation reservation = budgets.reserve(tenant, key, limit, Optional.empty(), Money.of("0.70"));
        boolean settled;
        try (org.jdbi.v3.core.Handle other = database.jdbi().open()) {
            other.begin();
            other.createQuery("SELECT spent FROM budget_spend WHERE tenant_id = :tenant FOR UPDATE").bind("tenant", tenant.value())
                    .mapTo(BigDecimal.class).one();
            settled = commit.execute(tx -> budgets.settle(tx, reservation, Money.of("0.20")));
            other.rollback();
        }

        assertThat(settled).as("the ledger transaction did not wait for the lock").isFalse();
        assertThat(column("reserved")).isEqualByComparingTo("0.70");
        budgets.settle(reservation, Money.of("0.20"));
        assertThat(column("spent")).isEqualByComparingTo("0.20");
        assertThat(column("reserved")).isEqualByComparingTo("0");
    }
}
