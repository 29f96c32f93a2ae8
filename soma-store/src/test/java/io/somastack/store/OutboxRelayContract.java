package io.somastack.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.TenantId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every event relay engine must do, seen from the consumer's side: in-process dispatch
 * (the embedded default) and soma-kafka's relay both extend this class and pass the same
 * tests. Shared through soma-store's test jar.
 */
public abstract class OutboxRelayContract {
    protected Database database;
    protected GroupCommit commit;

    /** An event as a consumer received it. */
    public record Received(UUID id, String type, String subject, Optional<UUID> tenantId, long sequence, String data) {
    }

    /** A started relay of {@code dataSource}'s outbox through the engine under test. */
    protected abstract OutboxRelay relay(DataSource dataSource);

    /** Everything received so far, in arrival order, waiting until at least {@code expected} arrived. */
    protected abstract List<Received> received(int expected);

    @BeforeEach
    void startStore() {
        database = TestDatabase.create();
        commit = new GroupCommit(database.jdbi(), new AuditLog(Clock.system()), new Outbox(Clock.system(), new Ids(Clock.system())), 256, 2);
    }

    @AfterEach
    void stopStore() {
        commit.close();
        database.close();
    }

    /** Publishes one event per entry, {@code per} events per transaction. */
    protected void publish(List<OutboxEvent> events, int per) {
        for (int from = 0; from < events.size(); from += per) {
            List<OutboxEvent> unit = events.subList(from, Math.min(events.size(), from + per));
            commit.execute(tx -> {
                unit.forEach(tx::publish);
                return null;
            });
        }
    }

    protected static OutboxEvent event(String type, Optional<TenantId> tenant, int n) {
        return new OutboxEvent(type, "subject-" + n, tenant, Map.of("n", n));
    }

    @Test
    void everyCommittedEventArrivesOnceWithItsAttributesInOrderPerTenant() {
        List<TenantId> tenants = List.of(new TenantId(UUID.randomUUID()), new TenantId(UUID.randomUUID()), new TenantId(UUID.randomUUID()));
        List<OutboxEvent> events = new ArrayList<>();
        for (int n = 0; n < 300; n++) {
            events.add(event(n % 2 == 0 ? "io.somastack.usage.recorded" : "io.somastack.tool.called", Optional.of(tenants.get(n % 3)), n));
        }
        try (OutboxRelay relay = relay(database.dataSource())) {
            publish(events, 25);
            List<Received> received = received(300);

            assertThat(received).hasSize(300);
            assertThat(received).extracting(Received::id).doesNotHaveDuplicates();
            Map<String, List<Long>> sequencesPerTenantAndType = new LinkedHashMap<>();
            for (Received event : received) {
                sequencesPerTenantAndType.computeIfAbsent(event.tenantId().orElseThrow() + " " + event.type(), k -> new ArrayList<>())
                        .add(event.sequence());
            }
            assertThat(sequencesPerTenantAndType).hasSize(6);
            sequencesPerTenantAndType.values().forEach(sequences -> assertThat(sequences).isSorted().hasSize(50));
            Received first = received.stream().filter(event -> event.subject().equals("subject-0")).findFirst().orElseThrow();
            assertThat(first.type()).isEqualTo("io.somastack.usage.recorded");
            assertThat(first.tenantId()).contains(tenants.get(0).value());
            assertThat(first.data()).isEqualToIgnoringWhitespace("{\"n\":0}");
            assertThat(relay.pending()).isZero();
        }
    }

    @Test
    void anEventOfNoTenantArrivesToo() {
        try (OutboxRelay relay = relay(database.dataSource())) {
            publish(List.of(event("io.somastack.audit.checkpoint", Optional.empty(), 7)), 1);

            List<Received> received = received(1);

            assertThat(received).singleElement().satisfies(event -> {
                assertThat(event.type()).isEqualTo("io.somastack.audit.checkpoint");
                assertThat(event.tenantId()).isEmpty();
                assertThat(event.subject()).isEqualTo("subject-7");
            });
        }
    }

    /** Polls until {@code condition} holds or {@code timeout} passed. */
    protected static void await(Duration timeout, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out after " + timeout);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
