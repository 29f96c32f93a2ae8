package io.somastack.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.metering.BillingConfig;
import io.somastack.metering.Invoicing;
import io.somastack.metering.Metering;
import io.somastack.metering.MeteringConfig;
import io.somastack.metering.SkuCatalog;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An invoice run (closing a period: one invoice per tenant, each in its own transaction with its
 * charges, audit entry and event) over N ledger rows spread evenly over T tenants, side by side
 * with the direct path: the one SQL aggregate of the same rows per tenant. Each size runs on a
 * fresh database: tenants made through {@code Tenants}, rows bulk-inserted by one SQL statement with the
 * ledger's row triggers off and the rollups then built set-based from them, {@code VACUUM ANALYZE}, then the
 * close, then the anchor; the
 * plan of one tenant's lines query is printed. Usage: {@code java ... io.somastack.bench.InvoiceRunBenchmark
 * [tenants] [rows,rows,...]} (default 1000 tenants, 100000 and 1000000 rows).
 */
public final class InvoiceRunBenchmark {
    private static final YearMonth PERIOD = YearMonth.of(2026, 1);

    private InvoiceRunBenchmark() {
    }

    record Figure(int tenants, long rows, double closeSeconds, double anchorSeconds, String plan) {
    }

    public static void main(String[] arguments) throws Exception {
        int tenants = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 1000;
        List<Long> sizes = new ArrayList<>();
        for (String size : (arguments.length > 1 ? arguments[1] : "100000,1000000").split(",")) {
            sizes.add(Long.parseLong(size.trim()));
        }
        List<Figure> figures = new ArrayList<>();
        for (long rows : sizes) {
            figures.add(run(tenants, rows));
        }
        System.out.printf("%n| ledger rows | tenants | invoice run | per tenant | per 1M rows | direct: one SQL aggregate |%n|---:|---:|---:|---:|---:|---:|%n");
        for (Figure figure : figures) {
            System.out.printf("| %,d | %,d | %.2f s | %.2f ms | %.2f s | %.3f s |%n", figure.rows(), figure.tenants(), figure.closeSeconds(),
                    figure.closeSeconds() * 1000 / figure.tenants(), figure.closeSeconds() * 1_000_000 / figure.rows(), figure.anchorSeconds());
        }
        for (Figure figure : figures) {
            System.out.printf("%nPlan of one tenant's lines query at %,d rows:%n%n%s%n", figure.rows(), figure.plan());
        }
        System.exit(0);
    }

    private static Figure run(int tenantCount, long rows) {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
        Clock clock = now::get;
        Ids ids = new Ids(Clock.system());
        try (Database database = TestDatabase.create();
                GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 64, 1)) {
            Tenants tenants = new Tenants(database.jdbi(), database.dataSource(), clock, ids);
            BillingConfig billing = new BillingConfig("USD", List.of(
                    new SkuCatalog.NewPrice("platform_fee:standard", null, null, null, new BigDecimal("49"), null, null, "2026-01", null),
                    new SkuCatalog.NewPrice("tokens.output:bench-model", null, "tiered", null, null, List.of(
                            new SkuCatalog.NewTier(new BigDecimal("1"), new BigDecimal("0.60"), BigDecimal.ZERO),
                            new SkuCatalog.NewTier(null, new BigDecimal("0.50"), BigDecimal.ZERO)), null, "2026-01", null)),
                    Map.of(), false, Duration.ofHours(1));
            try (Metering metering = Metering.create(new MeteringConfig(List.of(), Duration.ofMinutes(10), Money.ZERO), billing, database, commit,
                    tenants, clock, ids, new SimpleMeterRegistry())) {
                for (int i = 0; i < tenantCount; i++) {
                    String name = "bench-" + i;
                    commit.execute(tx -> tenants.create(tx, name, "standard", "local", Optional.empty(), "bench", "bench"));
                }
                long inserting = System.nanoTime();
                // Set-based, as a bulk load would be: the ledger's row triggers are off for the one INSERT (PostgreSQL's
                // session_replication_role = replica), then the hourly and daily rollups are built from the rows with the same
                // GROUP BY their migrations backfill with. The late-row trigger they skip moves rows of a period already
                // invoiced, and no period is invoiced yet: the rows land exactly as the triggers would leave them.
                database.jdbi().useTransaction(handle -> {
                    handle.execute("SET LOCAL session_replication_role = replica");
                    handle.createUpdate("""
                        INSERT INTO usage_ledger (id, tenant_id, key_id, request_id, model, provider, upstream_model, input_tokens,
                            output_tokens, estimated, input_per_million, output_per_million, cost, period, created_at)
                        SELECT gen_random_uuid(), t.id, '00000000-0000-0000-0000-000000000000', 'bench', 'bench-model', 'openai',
                               'bench-model', 1000 + g % 97, 500 + g % 89, false, 0.15, 0.60,
                               (1000 + g % 97) * 0.15 * 0.000001 + (500 + g % 89) * 0.60 * 0.000001, DATE '2026-01-01',
                               TIMESTAMPTZ '2026-01-01 00:00:00+00' + (g % 2678000) * INTERVAL '1 second'
                        FROM generate_series(0, :rows - 1) AS g
                        JOIN (SELECT id, (row_number() OVER (ORDER BY id)) - 1 AS n FROM tenants) AS t ON t.n = g % :tenants""")
                            .bind("rows", rows).bind("tenants", tenantCount).execute();
                    handle.execute("""
                            INSERT INTO usage_rollup_hourly (tenant_id, hour, model, key_id, capsule, calls, input_tokens, output_tokens, cost, estimated)
                            SELECT tenant_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, key_id, coalesce(capsule, ''),
                                   count(*) FILTER (WHERE meter <> 'egress'), sum(input_tokens), sum(output_tokens), sum(cost), bool_or(estimated)
                            FROM usage_ledger GROUP BY 1, 2, 3, 4, 5""");
                    handle.execute("""
                            INSERT INTO usage_rollup_daily (tenant_id, day, model, key_id, capsule, calls, input_tokens, output_tokens, cost, estimated)
                            SELECT tenant_id, (hour AT TIME ZONE 'UTC')::date, model, key_id, capsule, sum(calls), sum(input_tokens), sum(output_tokens),
                                   sum(cost), bool_or(estimated)
                            FROM usage_rollup_hourly GROUP BY 1, 2, 3, 4, 5""");
                });
                database.jdbi().useHandle(handle -> handle.execute("VACUUM ANALYZE usage_ledger"));
                System.out.printf("%,d rows for %,d tenants inserted in %.1f s%n", rows, tenantCount, (System.nanoTime() - inserting) / 1e9);

                now.set(Instant.parse("2026-02-01T02:00:00Z"));
                long closing = System.nanoTime();
                Invoicing.Run run = metering.invoicing().close(PERIOD, true, "bench", "bench");
                double closeSeconds = (System.nanoTime() - closing) / 1e9;
                if (run.created() != tenantCount) {
                    throw new IllegalStateException("made %d invoices for %d tenants".formatted(run.created(), tenantCount));
                }
                long anchoring = System.nanoTime();
                int groups = database.jdbi().withHandle(handle -> handle.createQuery(
                        "SELECT tenant_id, sum(cost) FROM usage_ledger WHERE period = DATE '2026-01-01' GROUP BY tenant_id").mapToMap().list()).size();
                double anchorSeconds = (System.nanoTime() - anchoring) / 1e9;
                String plan = database.jdbi().withHandle(handle -> String.join("\n", handle.createQuery("""
                        EXPLAIN (ANALYZE, BUFFERS) SELECT model, meter, sum(input_tokens * input_per_million), sum(output_tokens), sum(cost),
                               sum(quantity), count(late_of), sum(egress_bytes)
                        FROM usage_ledger WHERE tenant_id = (SELECT id FROM tenants ORDER BY id LIMIT 1) AND period = DATE '2026-01-01'
                        GROUP BY model, meter""")
                        .mapTo(String.class).list()));
                System.out.printf("close: %.2f s for %d invoices; direct aggregate: %.3f s over %d tenants%n", closeSeconds, run.created(),
                        anchorSeconds, groups);
                return new Figure(tenantCount, rows, closeSeconds, anchorSeconds, plan);
            }
        }
    }
}
