package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.kernel.TenantId;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The continuous exporters to OpenMeter and Lago, against a receiver that refuses some requests, with rows written
 * concurrently and an exporter restarted: every ledger row arrives exactly once by id, and the gauges go to 0.
 */
class ContinuousExportTest {
    private static ExportWireFixture receiver;
    private static BillingHarness billing;

    @BeforeAll
    static void start() {
        receiver = new ExportWireFixture("lago-test-key");
        billing = new BillingHarness(Map.of());
    }

    @AfterAll
    static void stop() {
        if (billing != null) {
            billing.close();
        }
        if (receiver != null) {
            receiver.close();
        }
    }

    private static ContinuousExport exporter(UsageExport.Target target, SimpleMeterRegistry meters) {
        UsageExport export = new UsageExport(billing.database.jdbi(),
                new ExportConfig(Optional.of(receiver.root()), Optional.of(receiver.root()), Optional.of("LAGO_KEY")),
                name -> name.equals("LAGO_KEY") ? Optional.of("lago-test-key") : Optional.empty(), Duration.ofMillis(5));
        return new ContinuousExport(billing.database.jdbi(), export, target, Duration.ofMillis(50), billing.clock, meters).start();
    }

    @Test
    void everyRowArrivesOnceByIdThroughFailuresAndARestartAndTheGaugesReachZero() throws InterruptedException {
        billing.at("2026-03-10T00:00:00Z");
        billing.gateway.tenantKey("streamed-usage", "invoices:read");
        TenantId tenant = billing.tenantOf("streamed-usage");
        SimpleMeterRegistry firstMeters = new SimpleMeterRegistry();
        ContinuousExport openMeter = exporter(UsageExport.Target.OPENMETER, firstMeters);
        ContinuousExport lago = exporter(UsageExport.Target.LAGO, firstMeters);
        receiver.failNext.set(3);
        writeConcurrently(tenant, 300);
        await(() -> received(300) && openMeter.pending() == 0 && lago.pending() == 0);
        openMeter.close();
        lago.close();

        // Written while no exporter runs; the restarted ones resume at their durable cursors, through more refusals.
        writeConcurrently(tenant, 420);
        receiver.failNext.set(4);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        ContinuousExport openMeterAgain = exporter(UsageExport.Target.OPENMETER, meters);
        ContinuousExport lagoAgain = exporter(UsageExport.Target.LAGO, meters);
        try {
            await(() -> received(720) && openMeterAgain.pending() == 0 && lagoAgain.pending() == 0);
            assertThat(ledgerIds()).hasSize(720);
            // Every row of the ledger (the other test's too), by id.
            Set<String> ids = Set.copyOf(billing.database.jdbi().withHandle(handle -> handle.createQuery("SELECT id::text FROM usage_ledger")
                    .mapTo(String.class).list()));
            assertThat(receiver.refused).isEmpty();
            assertThat(receiver.openMeterEvents.keySet()).isEqualTo(ids.stream().map(id -> "somastack/" + id).collect(Collectors.toSet()));
            assertThat(receiver.lagoEvents.keySet()).isEqualTo(ids);
            assertThat(receiver.deliveries.values()).as("no row sent twice").allSatisfy(count -> assertThat(count.get()).isEqualTo(1));
            for (String exporter : List.of("openmeter", "lago")) {
                assertThat(meters.get("soma.billing.export.pending").tag("exporter", exporter).gauge().value()).isZero();
                assertThat(meters.get("soma.billing.export.lag.seconds").tag("exporter", exporter).gauge().value()).isZero();
            }
            // The cursor counted each row of the ledger once (other tests' rows included).
            boolean countedOnce = billing.database.jdbi().withHandle(handle -> handle.createQuery(
                    "SELECT (SELECT exported FROM usage_export_cursors WHERE exporter = 'lago') = (SELECT count(*) FROM usage_ledger)")
                    .mapTo(Boolean.class).one());
            assertThat(countedOnce).isTrue();
        } finally {
            openMeterAgain.close();
            lagoAgain.close();
        }
    }

    @Test
    void aFailingReceiverBacksOffAndShowsItsLag() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        UsageExport export = new UsageExport(billing.database.jdbi(),
                new ExportConfig(Optional.empty(), Optional.of(receiver.root()), Optional.of("LAGO_KEY")),
                name -> Optional.of("lago-test-key"), Duration.ofMillis(1));
        billing.at("2026-03-20T00:00:00Z");
        billing.gateway.tenantKey("lagging", "invoices:read");
        ContinuousExport lago = new ContinuousExport(billing.database.jdbi(), export, UsageExport.Target.LAGO, Duration.ofSeconds(10),
                billing.clock, meters);
        lago.step();
        billing.call(billing.tenantOf("lagging"), "lag-model", 1, 1, "1", "1");
        receiver.lagoStatus = 503;
        int before = receiver.requests.get();
        try {
            billing.at("2026-03-20T00:01:00Z");
            assertThat(lago.step()).isZero();
            assertThat(receiver.requests.get() - before).as("UsageExport's own 5 attempts").isEqualTo(5);
            assertThat(lago.pending()).isEqualTo(1);
            assertThat(lago.lagSeconds()).isEqualTo(60);
            billing.at("2026-03-20T00:01:10Z");
            assertThat(lago.step()).as("backing off: 20 s after the first failure").isZero();
            assertThat(receiver.requests.get() - before).isEqualTo(5);
        } finally {
            receiver.lagoStatus = 0;
        }
        billing.at("2026-03-20T00:01:30Z");
        assertThat(lago.step()).isEqualTo(1);
        assertThat(lago.pending()).isZero();
        assertThat(meters.get("soma.billing.export.lag.seconds").tag("exporter", "lago").gauge().value()).isZero();
    }

    private static void writeConcurrently(TenantId tenant, int rows) throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        List<Thread> writers = IntStream.range(0, 4).mapToObj(i -> Thread.ofVirtual().start(() -> {
            while (next.getAndIncrement() < rows) {
                billing.call(tenant, "streamed-model", 10, 20, "1", "2");
            }
        })).toList();
        for (Thread writer : writers) {
            writer.join();
        }
    }

    /** Both receivers hold {@code rows} rows of this test's ledger. */
    private static boolean received(int rows) {
        Set<String> ids = ledgerIds();
        return ids.size() == rows && receiver.lagoEvents.keySet().containsAll(ids)
                && ids.stream().allMatch(id -> receiver.openMeterEvents.containsKey("somastack/" + id));
    }

    private static Set<String> ledgerIds() {
        return Set.copyOf(billing.database.jdbi().withHandle(handle -> handle.createQuery(
                "SELECT id::text FROM usage_ledger WHERE model = 'streamed-model'").mapTo(String.class).list()));
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("within 60 s").isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
