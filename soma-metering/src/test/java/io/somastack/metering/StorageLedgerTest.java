package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Stored memory lands in the usage ledger as MB-hours, priced with one rounding, once per interval. */
class StorageLedgerTest {
    @Test
    void aStorageSampleIsOneLedgerRowWithItsQuantityAndAnExactCost() {
        Clock clock = Clock.system();
        Ids ids = new Ids(clock);
        try (Database database = TestDatabase.create();
             GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 16, 1)) {
            Ledger ledger = new Ledger(database.jdbi(), clock, ids);
            TenantId tenant = new TenantId(UUID.randomUUID());
            Instant from = Instant.parse("2026-11-25T10:00:00Z");
            Instant to = Instant.parse("2026-11-25T11:00:00Z");
            BigDecimal mbHours = new BigDecimal("1.234567890123");
            Money price = Money.of("0.0001");

            Ledger.Entry first = commit.execute(tx -> ledger.recordStorage(tx, tenant, 1_234_567_890L, from, to, mbHours, price));
            Ledger.Entry again = commit.execute(tx -> ledger.recordStorage(tx, tenant, 1_234_567_890L, from, to, mbHours, price));

            assertThat(first.created()).isTrue();
            assertThat(again.created()).isFalse();
            // 0.0001234567890123 has 16 places: rounded half-even to the ledger's 15, once.
            assertThat(first.cost()).isEqualTo(Money.of("0.000123456789012"));
            List<Ledger.UsageSum> sums = ledger.summarize(tenant, from, to.plusSeconds(1), Ledger.GroupBy.MODEL);
            assertThat(sums).hasSize(1);
            assertThat(sums.getFirst().group()).isEqualTo(Ledger.MEMORY_STORAGE);
            assertThat(sums.getFirst().cost()).isEqualTo(Money.of("0.000123456789012"));
            assertThat(sums.getFirst().inputTokens()).isZero();
            String row = database.jdbi().withHandle(handle -> handle.createQuery(
                    "SELECT meter || ' ' || quantity::text || ' ' || unit FROM usage_ledger WHERE tenant_id = :tenant")
                    .bind("tenant", tenant.value()).mapTo(String.class).one());
            assertThat(row).isEqualTo("memory.storage 1.234567890123000 MB-hour");
        }
    }
}
