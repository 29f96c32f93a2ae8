package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.OneGroup;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import io.somastack.store.Tx;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Model calls of a group commit, written in one statement: each lands once with its billing event,
 * a key already used (committed earlier, or twice in the group) answers the first entry, and the
 * rollups equal the ledger.
 */
class LedgerGroupTest {
    @Test
    void aGroupsCallsLandOnceEachAndARepeatedKeyAnswersTheFirstEntry() {
        try (Database database = TestDatabase.create()) {
            Clock clock = Clock.system();
            Ids ids = new Ids(clock);
            Ledger ledger = new Ledger(database.jdbi(), clock, ids);
            TenantId tenant = new TenantId(UUID.randomUUID());
            TenantId other = new TenantId(UUID.randomUUID());
            Price price = new Price("m", Money.of("0.15"), Money.of("0.60"), Instant.EPOCH);
            Instant from = clock.now().truncatedTo(ChronoUnit.HOURS);
            try (GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 64, 1)) {
                Ledger.Entry earlier = commit.execute(tx -> ledger.record(tx, call(tenant, "key-0", 7, price), null));
                List<Function<Tx, Ledger.Entry>> group = new ArrayList<>();
                for (int n = 1; n <= 30; n++) {
                    // Unit 10 repeats the committed key-0, units 20 and 25 use key-20 twice; unit 30 is the other tenant's key-0 (a new one).
                    String key = n == 10 || n == 30 ? "key-0" : n == 25 ? "key-20" : "key-" + n;
                    UsageRecord usage = call(n % 3 == 0 ? other : tenant, key, n, price);
                    group.add(tx -> ledger.record(tx, usage, null));
                }
                List<Ledger.Entry> entries = OneGroup.submit(commit, group).stream().map(CompletableFuture::join).toList();

                assertThat(entries.get(9)).isEqualTo(new Ledger.Entry(earlier.id(), entries.get(9).cost(), false));
                assertThat(entries.get(19).created()).isTrue();
                assertThat(entries.get(29).created()).isTrue();
                assertThat(entries.get(24)).isEqualTo(new Ledger.Entry(entries.get(19).id(), entries.get(24).cost(), false));
                assertThat(entries.stream().filter(Ledger.Entry::created)).hasSize(28);
            }
            assertThat(count(database, "SELECT count(*) FROM usage_ledger")).isEqualTo(29);
            assertThat(count(database, "SELECT count(*) FROM outbox WHERE type = 'io.somastack.usage.recorded'")).isEqualTo(29);
            assertThat(count(database, """
                    SELECT count(*) FROM usage_ledger l JOIN outbox o ON o.subject = l.id::text""")).as("each row's own event").isEqualTo(29);
            UsageRollups rollups = new UsageRollups(database.jdbi());
            Instant to = from.plus(Duration.ofHours(2));
            for (TenantId each : List.of(tenant, other)) {
                for (Ledger.GroupBy groupBy : Ledger.GroupBy.values()) {
                    assertThat(rollups.summarize(new UsageRollups.Filter(each, from, to, Optional.empty(), Optional.empty()), groupBy))
                            .as("by " + groupBy).isEqualTo(ledger.summarize(each, from, to, groupBy)).isNotEmpty();
                }
            }
        }
    }

    private static UsageRecord call(TenantId tenant, String key, int tokens, Price price) {
        return new UsageRecord(tenant, UUID.randomUUID(), "req-" + key, Optional.of(key), "m", "openai", "m", 1000L * tokens, 10L * tokens, false,
                price, tokens % 2 == 0 ? Optional.of("weather") : Optional.empty());
    }

    private static long count(Database database, String sql) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(Long.class).one());
    }
}
