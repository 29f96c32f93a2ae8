package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.Update;
import org.junit.jupiter.api.Test;

/**
 * The hourly and daily rollups the ledger's statement triggers keep equal the ledger's own sums, whatever the number of rows per
 * statement, and a rolled-back row is in none.
 */
class UsageRollupsTest {
    private static final Instant DAY = Instant.parse("2026-11-03T00:00:00Z");
    private static final String[] CAPSULES = {"weather", null, "news"};

    @Test
    void rollupSumsEqualTheLedgerForEveryGroupingAndFilter() {
        try (Database database = TestDatabase.create()) {
            Clock clock = Clock.system();
            Ledger ledger = new Ledger(database.jdbi(), clock, new Ids(clock));
            UsageRollups rollups = new UsageRollups(database.jdbi());
            TenantId tenant = new TenantId(UUID.randomUUID());
            TenantId other = new TenantId(UUID.randomUUID());
            UUID[] keys = {UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID()};
            Random random = new Random(7);
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                // Three days of rows at any second, odd costs with 15 decimal places.
                Instant at = DAY.plusSeconds(random.nextInt(3 * 86_400));
                // Every 13th is an answer's egress row: in the sums, but no call.
                rows.add(new Row(i % 7 == 0 ? other : tenant, keys[i % 3], i % 13 == 0 ? "egress" : "model-" + (i % 4),
                        CAPSULES[i % CAPSULES.length], at,
                        random.nextInt(1000), random.nextInt(500),
                        new BigDecimal(random.nextInt(1_000_000)).movePointLeft(15).add(new BigDecimal("0.000123")), i % 11 == 0));
            }
            // Statements of 1 to 80 rows, as group commits write them (the triggers run once per statement): rows of one rollup
            // group, in one statement and across statements, are added up.
            database.jdbi().useTransaction(handle -> {
                for (int start = 0; start < rows.size(); ) {
                    int end = Math.min(rows.size(), start + 1 + random.nextInt(80));
                    insert(handle, rows.subList(start, end));
                    start = end;
                }
            });
            assertThatThrownBy(() -> database.jdbi().useTransaction(handle -> {
                insert(handle, List.of(new Row(tenant, keys[0], "model-0", "weather", DAY.plusSeconds(10), 5, 5, BigDecimal.ONE, false)));
                throw new IllegalStateException("rolled back");
            })).hasMessage("rolled back");

            Instant from = DAY;
            Instant to = DAY.plusSeconds(2 * 86_400);
            // Whole days (read from the daily rollup) and whole hours across days (read from the hourly one).
            for (Ledger.GroupBy groupBy : Ledger.GroupBy.values()) {
                assertThat(rollups.summarize(new UsageRollups.Filter(tenant, from, to, Optional.empty(), Optional.empty()), groupBy))
                        .as("by " + groupBy).isEqualTo(ledger.summarize(tenant, from, to, groupBy));
                Instant hoursFrom = DAY.plusSeconds(5 * 3600);
                Instant hoursTo = DAY.plusSeconds(53 * 3600);
                assertThat(rollups.summarize(new UsageRollups.Filter(tenant, hoursFrom, hoursTo, Optional.empty(), Optional.empty()), groupBy))
                        .as("hours by " + groupBy).isEqualTo(ledger.summarize(tenant, hoursFrom, hoursTo, groupBy));
            }
            assertThat(rollups.models(new UsageRollups.Filter(tenant, from, to, Optional.empty(), Optional.empty())))
                    .containsExactly("egress", "model-0", "model-1", "model-2", "model-3");
            var byKey = rollups.summarize(new UsageRollups.Filter(tenant, from, to, Optional.of("model-1"), Optional.of(keys[1])), Ledger.GroupBy.DAY);
            var direct = database.jdbi().withHandle(handle -> handle.createQuery("""
                    SELECT count(*) FROM usage_ledger WHERE tenant_id = :tenant AND model = 'model-1' AND key_id = :key
                    AND created_at >= :from AND created_at < :to""").bind("tenant", tenant.value()).bind("key", keys[1])
                    .bind("from", Timestamp.from(from)).bind("to", Timestamp.from(to)).mapTo(Long.class).one());
            assertThat(byKey.stream().mapToLong(Ledger.UsageSum::calls).sum()).isEqualTo(direct);
            assertThat(rollups.summarize(new UsageRollups.Filter(tenant, from, to, Optional.empty(), Optional.of(UUID.randomUUID())),
                    Ledger.GroupBy.MODEL)).isEmpty();
            // The hourly series, added up by model or by capsule, is the ledger's usage by model or capsule (none = null).
            List<UsageRollups.Point> points = rollups.hourly(new UsageRollups.Filter(tenant, from, to, Optional.empty(), Optional.empty()));
            for (Ledger.GroupBy groupBy : List.of(Ledger.GroupBy.MODEL, Ledger.GroupBy.CAPSULE)) {
                assertThat(UsageRollups.sum(points, groupBy)).as("points by " + groupBy)
                        .containsExactlyInAnyOrderElementsOf(ledger.summarize(tenant, from, to, groupBy));
            }
            Map<String, Money> cost = new LinkedHashMap<>();
            points.forEach(point -> cost.merge(point.capsule().orElse("null"), point.cost(), Money::plus));
            Map<String, Money> ledgerCost = new LinkedHashMap<>();
            ledger.summarize(tenant, from, to, Ledger.GroupBy.CAPSULE).forEach(sum -> ledgerCost.put(String.valueOf(sum.group()), sum.cost()));
            assertThat(cost).isEqualTo(ledgerCost).containsOnlyKeys("weather", "news", "null");
        }
    }

    @Test
    void modelCallsToolCallsAndCapsuleRunsOfACapsuleAreItsUsage() {
        try (Database database = TestDatabase.create()) {
            Clock clock = Clock.system();
            Ids ids = new Ids(clock);
            Ledger ledger = new Ledger(database.jdbi(), clock, ids);
            UsageRollups rollups = new UsageRollups(database.jdbi());
            TenantId tenant = new TenantId(UUID.randomUUID());
            UUID key = UUID.randomUUID();
            Price price = new Price("m", Money.of("0.15"), Money.of("0.60"), Instant.EPOCH);
            Instant from = clock.now().truncatedTo(java.time.temporal.ChronoUnit.HOURS);
            try (GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 16, 1)) {
                commit.execute(tx -> {
                    // An agent run's model call, a tool call of the same capsule, a capsule's run charge, and a client's own call.
                    ledger.record(tx, new UsageRecord(tenant, key, "run-1", Optional.empty(), "m", "local", "m", 120, 30, false, price,
                            Optional.of("weather")), null);
                    ledger.recordToolCall(tx, tenant, key, "run-1", "weather", "forecast", "wasm", Duration.ofMillis(3), "completed",
                            Money.of("0.002"), null);
                    new SkuMeter(clock, ids).record(tx, new SkuMeter.Usage(tenant, "capsule:weather-pro", BigDecimal.ONE, "capsule-run:run-1",
                            Optional.of("capsule-run:run-1"), Map.of("capsule", "weather", "run_id", "run-1")));
                    ledger.record(tx, new UsageRecord(tenant, key, "req-2", Optional.empty(), "m", "local", "m", 10, 5, false, price), null);
                    return null;
                });
            }
            Instant to = from.plus(Duration.ofHours(2));
            List<Ledger.UsageSum> byCapsule = ledger.summarize(tenant, from, to, Ledger.GroupBy.CAPSULE);
            assertThat(byCapsule).extracting(Ledger.UsageSum::group, Ledger.UsageSum::calls, Ledger.UsageSum::inputTokens)
                    .containsExactly(org.assertj.core.api.Assertions.tuple("weather", 3L, 120L), org.assertj.core.api.Assertions.tuple(null, 1L, 10L));
            assertThat(byCapsule.getFirst().cost()).isEqualTo(price.cost(120, 30).plus(Money.of("0.002")));
            assertThat(rollups.summarize(new UsageRollups.Filter(tenant, from, to, Optional.empty(), Optional.empty()), Ledger.GroupBy.CAPSULE))
                    .isEqualTo(byCapsule);
        }
    }

    private record Row(TenantId tenant, UUID key, String model, String capsule, Instant at, long input, long output, BigDecimal cost,
            boolean estimated) {
    }

    /** Writes {@code rows} in one INSERT statement. */
    private static void insert(Handle handle, List<Row> rows) {
        StringBuilder values = new StringBuilder();
        for (int i = 0; i < rows.size(); i++) {
            values.append(i == 0 ? "" : ", ").append("""
                    (:id%1$d, :tenant%1$d, :key%1$d, 'req', :model%1$d, 'test', :model%1$d, :input%1$d, :output%1$d, :estimated%1$d, 0, 0,
                     :cost%1$d, :period%1$d, :at%1$d, :capsule%1$d, CASE WHEN :model%1$d = 'egress' THEN 'egress' ELSE 'model.tokens' END)"""
                    .formatted(i));
        }
        Update update = handle.createUpdate("""
                INSERT INTO usage_ledger (id, tenant_id, key_id, request_id, model, provider, upstream_model, input_tokens, output_tokens,
                                          estimated, input_per_million, output_per_million, cost, period, created_at, capsule, meter)
                VALUES """ + values);
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            update.bind("id" + i, UUID.randomUUID()).bind("tenant" + i, row.tenant().value()).bind("key" + i, row.key())
                    .bind("model" + i, row.model()).bind("capsule" + i, row.capsule()).bind("input" + i, row.input())
                    .bind("output" + i, row.output()).bind("estimated" + i, row.estimated()).bind("cost" + i, row.cost())
                    .bind("period" + i, java.time.LocalDate.ofInstant(row.at(), java.time.ZoneOffset.UTC).withDayOfMonth(1))
                    .bind("at" + i, Timestamp.from(row.at()));
        }
        assertThat(update.execute()).isEqualTo(rows.size());
    }
}
