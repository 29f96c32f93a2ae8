package io.somastack.metering;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.TestGateway;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.StoreConfig;
import io.somastack.store.TestDatabase;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

/** Real PostgreSQL, the ledger, the catalog and invoicing behind the real gateway on port 0, with a clock the test sets. */
final class BillingHarness implements AutoCloseable {
    final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-15T10:00:00Z"));
    final Clock clock = now::get;
    final Ids ids = new Ids(Clock.system());
    final Database database;
    final GroupCommit commit;
    final Metering metering;
    final Ledger ledger;
    final SkuCatalog catalog;
    final Invoicing invoicing;
    final TestGateway gateway;

    BillingHarness(Map<String, BigDecimal> taxRates) {
        this(taxRates, ExportConfig.none());
    }

    BillingHarness(Map<String, BigDecimal> taxRates, ExportConfig exports) {
        this(TestDatabase.create(), taxRates, exports);
    }

    /** A node over {@code url}: several harnesses on one URL are nodes of one cluster, each with its own pool and listener. */
    BillingHarness(String url) {
        this(new Database(new StoreConfig(Optional.of(url), Optional.of("postgres"), Optional.empty(), Path.of("target"), 8, 256,
                Duration.ofSeconds(10))).start(), Map.of(), ExportConfig.none());
    }

    private BillingHarness(Database database, Map<String, BigDecimal> taxRates, ExportConfig exports) {
        this.database = database;
        this.commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 16, 1);
        // Assembled by the module's own factory, as SomaServer does; the scheduled close is off (tests close periods themselves).
        metering = Metering.create(new MeteringConfig(List.of(), Duration.ofMinutes(10), Money.ZERO),
                new BillingConfig("USD", List.of(), taxRates, false, Duration.ofHours(1), BillingConfig.CLOSE_CHECK_INTERVAL, exports), database, commit,
                new Tenants(database.jdbi(), database.dataSource(), clock, ids), clock, ids, new SimpleMeterRegistry());
        ledger = metering.ledger();
        catalog = metering.catalog();
        invoicing = metering.invoicing();
        gateway = new TestGateway(database, commit, clock, ids, new SimpleMeterRegistry(), metering::routes);
    }

    /** {@code POST path} with {@code body} as the operator. */
    TestGateway.Response operatorPost(String path, String body) {
        return gateway.send("POST", path, gateway.operatorKey(), body);
    }

    void at(String instant) {
        now.set(Instant.parse(instant));
    }

    TenantId tenantOf(String name) {
        return gateway.tenants().list().stream().filter(tenant -> tenant.name().equals(name)).findFirst().orElseThrow().id();
    }

    /** One model call, priced per million tokens at call time. */
    Ledger.Entry call(TenantId tenant, String model, long input, long output, String inputPrice, String outputPrice) {
        UsageRecord usage = new UsageRecord(tenant, UUID.randomUUID(), "req", Optional.empty(), model, "openai", model, input, output, false,
                new Price(model, Money.of(inputPrice), Money.of(outputPrice), Instant.EPOCH));
        return commit.execute(tx -> ledger.record(tx, usage, null));
    }

    /** The sum of the tenant's ledger rows of {@code period}, by PostgreSQL. */
    Money ledgerSum(TenantId tenant, YearMonth period) {
        BigDecimal sum = database.jdbi().withHandle(handle -> handle.createQuery(
                "SELECT coalesce(sum(cost), 0) FROM usage_ledger WHERE tenant_id = :tenant AND period = :period")
                .bind("tenant", tenant.value()).bind("period", period.atDay(1)).mapTo(BigDecimal.class).one());
        return Money.of(sum);
    }

    @Override
    public void close() {
        gateway.close();
        metering.close();
        commit.close();
        database.close();
    }
}
