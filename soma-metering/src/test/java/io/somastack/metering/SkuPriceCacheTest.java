package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.store.TestDatabase;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The catalog versions {@link SkuMeter} prices rows by are cached per node: two nodes (each its
 * own pool, LISTEN connection and cache) over one PostgreSQL. A warm node writes rows without
 * reading the catalog; a price added on one node prices the other's rows within 1 s; a price
 * read inside a transaction that rolled back is never cached.
 */
class SkuPriceCacheTest {
    private static final Duration BOUND = Duration.ofSeconds(1);

    private BillingHarness nodeA;
    private BillingHarness nodeB;
    private TenantId tenant;

    @BeforeEach
    void startTwoNodes() {
        String url = TestDatabase.newDatabaseUrl();
        nodeA = new BillingHarness(url);
        nodeB = new BillingHarness(url);
        awaitLive(nodeA);
        awaitLive(nodeB);
        nodeA.gateway.tenantKey("acme", "usage:read");
        tenant = nodeA.tenantOf("acme");
    }

    @AfterEach
    void stopNodes() {
        nodeB.close();
        nodeA.close();
    }

    @Test
    void aWarmNodeWritesRowsWithoutReadingTheCatalog() {
        addEgressPrice(nodeA, "0.09");
        awaitCached(nodeB);

        Rows rows = nodeB.commit.execute(tx -> {
            Money total = Money.ZERO;
            for (int i = 0; i < 20; i++) {
                total = total.plus(egress(nodeB, tx));
            }
            return new Rows(total, catalogReads(tx));
        });

        assertThat(rows.cost()).as("20 rows of 1 GB at 0.09").isEqualTo(Money.of("1.80"));
        assertThat(rows.catalogReads()).as("reads of sku_prices while writing them").isZero();
    }

    @Test
    void aPriceAddedOnOneNodePricesTheOtherNodesRowsWithinOneSecond() {
        awaitCached(nodeB);
        assertThat(nodeB.commit.execute(this::egressOnB)).as("egress is not priced yet").isEqualTo(Money.ZERO);

        addEgressPrice(nodeA, "0.09");
        long added = System.nanoTime();

        Money onA = nodeA.commit.execute(tx -> egress(nodeA, tx));
        assertThat(onA).as("the adding node prices by it at once").isEqualTo(Money.of("0.09"));
        Money cost;
        do {
            cost = nodeB.commit.execute(this::egressOnB);
        } while (cost.equals(Money.ZERO) && System.nanoTime() - added < 2 * BOUND.toNanos());
        long elapsed = System.nanoTime() - added;
        assertThat(cost).isEqualTo(Money.of("0.09"));
        assertThat(Duration.ofNanos(elapsed)).as("node B priced by the new version within 1 s").isLessThanOrEqualTo(BOUND);
    }

    @Test
    void aPriceReadInATransactionThatRolledBackIsNeverCached() {
        // The node's first row of egress reads the catalog in its transaction, which also holds an uncommitted price.
        assertThatThrownBy(() -> nodeB.commit.execute(tx -> {
            insertEgressPrice(tx, "0.09");
            assertThat(egressOnB(tx)).as("the transaction sees its own price").isEqualTo(Money.of("0.09"));
            throw new IllegalStateException("rolled back");
        })).hasMessageContaining("rolled back");

        awaitCached(nodeB);
        assertThat(nodeB.commit.execute(this::egressOnB)).as("the rolled-back price is not used").isEqualTo(Money.ZERO);
    }

    private record Rows(Money cost, long catalogReads) {
    }

    /** One row of 1 GB of egress for the tenant, written by {@code node} in {@code tx}; its cost. */
    private Money egress(BillingHarness node, Tx tx) {
        return node.metering.skuMeter().record(tx, new SkuMeter.Usage(tenant, Skus.EGRESS, BigDecimal.ONE, "req-" + UUID.randomUUID(),
                Optional.empty(), Map.of())).cost();
    }

    private Money egressOnB(Tx tx) {
        return egress(nodeB, tx);
    }

    private static void addEgressPrice(BillingHarness node, String price) {
        assertThat(node.operatorPost("/v1/admin/prices", "{\"sku\": \"egress\", \"unit_price\": \"%s\", \"effective_from\": \"2026-01\"}"
                .formatted(price)).status()).isEqualTo(201);
    }

    private static void insertEgressPrice(Tx tx, String price) {
        tx.handle().createUpdate("""
                INSERT INTO sku_prices (id, sku, currency, pricing, unit, tiers, effective_from, created_at)
                VALUES (gen_random_uuid(), 'egress', 'USD', 'flat', 'GB',
                        CAST(:tiers AS jsonb), DATE '2026-01-01', now())""")
                .bind("tiers", "[{\"up_to\": null, \"unit_price\": \"%s\", \"flat_fee\": \"0\"}]".formatted(price)).execute();
    }

    /** Scans of {@code sku_prices} this transaction made so far. */
    private static long catalogReads(Tx tx) {
        return tx.handle().createQuery("""
                SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relname = 'sku_prices'""")
                .mapTo(Long.class).one();
    }

    /** Writes rows on {@code node} until one is priced from its cache (the cache fills in the background after a miss). */
    private void awaitCached(BillingHarness node) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            long reads = node.commit.execute(tx -> {
                egress(node, tx);
                return catalogReads(tx);
            });
            if (reads == 0) {
                return;
            }
        }
        throw new AssertionError("node's price cache never filled");
    }

    private static void awaitLive(BillingHarness node) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!node.database.notifications().isLive() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(node.database.notifications().isLive()).as("the node listens for changes").isTrue();
    }
}
