package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static io.somastack.memory.TestMemory.fact;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.TenantId;
import io.somastack.store.AuditLog;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Storage metering on the real PostgreSQL. The sink is test code that writes each sample into a
 * table through the metering transaction, so only committed samples are seen.
 */
class StorageMeterTest {
    private TestClock clock;
    private TestMemory soma;

    /** One sample, as the recording sink stored it. */
    record Sample(TenantId tenant, long bytes, Instant from, Instant to, BigDecimal mbHours) {
    }

    @BeforeEach
    void start() {
        clock = new TestClock();
        soma = TestMemory.start(MemoryConfig.defaults(Path.of("target")), TestMemory.embedder(), clock);
        soma.database.jdbi().useHandle(handle -> handle.execute("""
                CREATE TABLE recorded_storage_samples (tenant_id UUID, bytes BIGINT, from_at TIMESTAMPTZ, to_at TIMESTAMPTZ, mb_hours NUMERIC)"""));
    }

    @AfterEach
    void stop() {
        soma.close();
    }

    private static void record(Tx tx, TenantId tenant, long bytes, Instant from, Instant to, BigDecimal mbHours) {
        tx.handle().createUpdate("INSERT INTO recorded_storage_samples VALUES (:tenant, :bytes, :from, :to, :mbHours)")
                .bind("tenant", tenant.value()).bind("bytes", bytes).bind("from", Timestamp.from(from)).bind("to", Timestamp.from(to))
                .bind("mbHours", mbHours).execute();
    }

    private static BigDecimal megabytes(long bytes) {
        return new BigDecimal(bytes).movePointLeft(6);
    }

    private StorageMeter meter(GroupCommit commit) {
        return new StorageMeter(commit, clock, StorageMeterTest::record, Duration.ofHours(1));
    }

    private List<Sample> samples() {
        return soma.database.jdbi().withHandle(handle -> handle.createQuery("SELECT * FROM recorded_storage_samples ORDER BY tenant_id, from_at")
                .map((rs, ctx) -> new Sample(new TenantId(rs.getObject("tenant_id", UUID.class)), rs.getLong("bytes"),
                        rs.getTimestamp("from_at").toInstant(), rs.getTimestamp("to_at").toInstant(), rs.getBigDecimal("mb_hours")))
                .list());
    }

    @Test
    void metersAnIntervalOnceWithTheExactValueAndCarriesTheRemainder() {
        Instant stored = clock.now();
        TenantId tenant = TestMemory.tenant();
        String text = "Quentin's parking spot is B-17";
        soma.remember(caller(tenant), fact(text, Scope.of("user", "quentin")));
        long bytes = text.length();

        clock.advance(Duration.ofMinutes(90));
        assertThat(meter(soma.commit).run()).isEqualTo(1);
        assertThat(meter(soma.commit).run()).as("a restarted meter at the same time").isZero();
        assertThat(meter(soma.commit).run()).isZero();

        clock.advance(Duration.ofMinutes(30).plusMillis(1));
        assertThat(meter(soma.commit).run()).isEqualTo(1);
        clock.advance(Duration.ofNanos(2_600_000));
        assertThat(meter(soma.commit).run()).as("1 ms + 2.6 ms left over make one micro-hour").isEqualTo(1);

        Instant twoHours = stored.plus(Duration.ofHours(2));
        assertThat(samples()).containsExactly(
                new Sample(tenant, bytes, stored, stored.plus(Duration.ofMinutes(90)), megabytes(bytes).multiply(new BigDecimal("1.5")).setScale(12)),
                new Sample(tenant, bytes, stored.plus(Duration.ofMinutes(90)), twoHours, megabytes(bytes).multiply(new BigDecimal("0.5")).setScale(12)),
                new Sample(tenant, bytes, twoHours, twoHours.plusNanos(3_600_000), megabytes(bytes).movePointLeft(6).setScale(12)));
        assertThat(samples().get(0).mbHours()).isEqualByComparingTo("0.000045");
    }

    @Test
    void aSinkThatFailsMetersNothingAndTheNextRunMetersTheWholeInterval() {
        Instant stored = clock.now();
        TenantId tenant = TestMemory.tenant();
        soma.remember(caller(tenant), fact("Rosa's locker is number 12", Scope.of("user", "rosa")));
        clock.advance(Duration.ofHours(1));
        StorageMeter failing = new StorageMeter(soma.commit, clock, (tx, id, bytes, from, to, mbHours) -> {
            record(tx, id, bytes, from, to, mbHours);
            throw new IllegalStateException("ledger unavailable");
        }, Duration.ofHours(1));

        assertThatThrownBy(failing::run).hasMessageContaining("ledger unavailable");
        assertThat(samples()).isEmpty();
        clock.advance(Duration.ofHours(1));

        assertThat(meter(soma.commit).run()).isEqualTo(1);
        assertThat(samples()).singleElement().satisfies(sample -> {
            assertThat(sample.from()).isEqualTo(stored);
            assertThat(sample.to()).isEqualTo(stored.plus(Duration.ofHours(2)));
            assertThat(sample.mbHours()).isEqualByComparingTo(new BigDecimal(sample.bytes()).multiply(new BigDecimal("0.000002")));
        });
    }

    @Test
    void metersOnNodesRunningAtOnceMeterEachTenantOnceAndSkipEmptyTenants() throws Exception {
        List<TenantId> tenants = new ArrayList<>();
        for (int i = 0; i < 250; i++) {
            TenantId tenant = TestMemory.tenant();
            tenants.add(tenant);
            soma.database.jdbi().useHandle(handle -> handle.createUpdate("INSERT INTO memory_usage VALUES (:tenant, 1, 1000)")
                    .bind("tenant", tenant.value()).execute());
        }
        TenantId emptied = TestMemory.tenant();
        Remembered gone = soma.remember(caller(emptied), fact("Sam's temporary note", Scope.of("user", "sam")));
        soma.memories().delete(caller(emptied), gone.memoryId(), "test");
        meter(soma.commit).run();
        clock.advance(Duration.ofHours(3));

        List<GroupCommit> nodes = new ArrayList<>();
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Callable<Integer>> runs = new ArrayList<>();
            for (int node = 0; node < 4; node++) {
                GroupCommit commit = new GroupCommit(soma.database.jdbi(), new AuditLog(clock), new Outbox(clock, soma.ids), 8, 1);
                nodes.add(commit);
                runs.add(() -> meter(commit).run());
            }
            int total = 0;
            for (Future<Integer> run : threads.invokeAll(runs)) {
                total += run.get();
            }

            assertThat(total).isEqualTo(250);
        } finally {
            threads.shutdown();
            nodes.forEach(GroupCommit::close);
        }
        assertThat(samples()).hasSize(250).extracting(Sample::tenant).containsExactlyInAnyOrderElementsOf(tenants);
        assertThat(samples()).allSatisfy(sample -> assertThat(sample.mbHours()).isEqualByComparingTo("0.003"));
        assertThat(soma.count("SELECT count(*) FROM memory_storage_meter WHERE tenant_id = '" + emptied.value() + "' AND metered_until = '"
                + Timestamp.from(clock.now()).toInstant() + "'")).as("an empty tenant's meter advances without a sample").isEqualTo(1);
    }
}
