package io.somastack.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.TenantId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OutboxRelayTest {
    private Database database;
    private GroupCommit commit;
    private OutboxRelay relay;

    @BeforeEach
    void start() {
        database = TestDatabase.create();
        commit = new GroupCommit(database.jdbi(), new AuditLog(Clock.system()), new Outbox(Clock.system(), new Ids(Clock.system())), 16, 1);
        relay = new OutboxRelay(database.dataSource(), Duration.ofMillis(20), 100);
    }

    @AfterEach
    void stop() {
        relay.close();
        commit.close();
        database.close();
    }

    private void publish(String subject) {
        commit.execute(tx -> {
            tx.publish(new OutboxEvent("io.somastack.test.happened", subject, Optional.of(new TenantId(UUID.randomUUID())), Map.of("n", subject)));
            return null;
        });
    }

    @Test
    void deliversCommittedEventsInOrderOnce() {
        List<String> seen = new ArrayList<>();
        relay.subscribe(event -> seen.add(event.subject()));
        for (int i = 0; i < 5; i++) {
            publish("event-" + i);
        }

        assertThat(relay.relayOnce()).isEqualTo(5);
        assertThat(relay.relayOnce()).isZero();

        assertThat(seen).containsExactly("event-0", "event-1", "event-2", "event-3", "event-4");
        assertThat(relay.pending()).isZero();
    }

    @Test
    void theEventsOfOneTransactionAreDeliveredInTheOrderTheyWerePublishedBesideItsAuditEntries() {
        List<String> seen = new ArrayList<>();
        relay.subscribe(event -> seen.add(event.subject()));
        List<String> published = new ArrayList<>();
        // One transaction's events are written in the same statement as its audit entries.
        commit.execute(tx -> {
            for (int i = 0; i < 50; i++) {
                tx.audit(new AuditEntry(Optional.empty(), "test", "thing.create", "thing-" + i, "req-" + i, Map.of("n", i)));
                tx.publish(new OutboxEvent("io.somastack.test.happened", "event-" + i, Optional.empty(), Map.of("n", i)));
                published.add("event-" + i);
            }
            return null;
        });
        publish("event-after");
        published.add("event-after");

        assertThat(relay.relayOnce()).isEqualTo(51);
        assertThat(seen).containsExactlyElementsOf(published);
        AuditLog.Verification audit = new AuditLog(Clock.system()).verify(database.jdbi());
        assertThat(audit.intact()).as(audit.message()).isTrue();
        assertThat(audit.checked()).isEqualTo(50);
    }

    @Test
    void aFailingListenerLeavesTheEventsPendingForTheNextPoll() {
        publish("retry-me");
        List<String> seen = new ArrayList<>();
        relay.subscribe(event -> {
            if (seen.isEmpty()) {
                seen.add("failed once");
                throw new IllegalStateException("listener down");
            }
            seen.add(event.subject());
        });

        try {
            relay.relayOnce();
        } catch (IllegalStateException expected) {
            // the first delivery fails
        }
        assertThat(relay.pending()).isEqualTo(1);
        assertThat(relay.relayOnce()).isEqualTo(1);

        assertThat(seen).containsExactly("failed once", "retry-me");
        assertThat(relay.pending()).isZero();
    }

    @Test
    void aCommitWakesTheRelayWithoutWaitingForThePoll() throws Exception {
        try (OutboxRelay slowPoll = new OutboxRelay(database.dataSource(), Duration.ofMinutes(1), 100)) {
            CountDownLatch seen = new CountDownLatch(1);
            slowPoll.subscribe(event -> seen.countDown());
            slowPoll.start();
            // The relay's first look finds nothing; from then on only a wake-up makes it look before a minute has passed.
            Thread.sleep(200);
            commit.afterEventsCommitted(slowPoll::wake);

            publish("wake-up");

            assertThat(seen.await(5, TimeUnit.SECONDS)).as("delivered long before the one-minute poll").isTrue();
        }
    }

    @Test
    void aLingeringRelayClaimsTheEventsOfCommitsWithinItsLingerTogether() throws Exception {
        List<List<String>> batches = new CopyOnWriteArrayList<>();
        OutboxRelay.Sink recording = batch -> {
            batches.add(batch.stream().map(OutboxRelay.DispatchedEvent::subject).toList());
            return CompletableFuture.completedFuture(null);
        };
        try (OutboxRelay lingering = new OutboxRelay(database.dataSource(), Duration.ofMinutes(1), 100, 4, recording)
                .lingering(Duration.ofSeconds(2))) {
            lingering.start();
            Thread.sleep(200);
            commit.afterEventsCommitted(lingering::wake);
            publish("first");
            await(() -> batches.size() == 1);
            long claimed = System.nanoTime();
            publish("second");
            publish("third");
            publish("fourth");
            await(() -> batches.size() == 2);
            long waited = System.nanoTime() - claimed;

            assertThat(batches).containsExactly(List.of("first"), List.of("second", "third", "fourth"));
            assertThat(waited).as("the three commits waited out the linger, not the one-minute poll")
                    .isBetween(Duration.ofMillis(1500).toNanos(), Duration.ofSeconds(10).toNanos());
            await(() -> lingering.pending() == 0);
        }
    }

    @Test
    void aBatchAcknowledgedBeforeAnEarlierOneIsNotMarkedAndIsSentAgainAfterTheEarlierOneFails() throws Exception {
        for (int i = 0; i < 4; i++) {
            publish("event-" + i);
        }
        HeldSink sink = new HeldSink();
        try (OutboxRelay pipelined = new OutboxRelay(database.dataSource(), Duration.ofMillis(20), 2, 4, sink).start()) {
            await(() -> sink.sent().size() == 2);
            assertThat(sink.sent()).containsExactly(List.of("event-0", "event-1"), List.of("event-2", "event-3"));

            sink.acknowledge(1);
            Thread.sleep(300);
            assertThat(pipelined.pending()).as("the second batch waits for the first").isEqualTo(4);

            sink.fail(0);
            await(() -> sink.sent().size() == 4);
            assertThat(sink.resets()).isEqualTo(1);
            assertThat(sink.sent().subList(2, 4)).as("both sent again, the earlier first")
                    .containsExactly(List.of("event-0", "event-1"), List.of("event-2", "event-3"));

            sink.acknowledge(3);
            Thread.sleep(300);
            assertThat(pipelined.pending()).isEqualTo(4);
            sink.acknowledge(2);
            await(() -> pipelined.pending() == 0);
        }
    }

    @Test
    void aRelayStoppedBetweenAcknowledgementAndMarkLeavesTheBatchPendingAndTheNextRelaySendsItAgain() throws Exception {
        publish("acknowledged-not-marked");
        HeldSink sink = new HeldSink();
        CountDownLatch acknowledged = new CountDownLatch(1);
        OutboxRelay stopped = new OutboxRelay(database.dataSource(), Duration.ofMillis(20), 100, 4, sink);
        stopped.subscribe(event -> {
            // Listeners run after the acknowledgement and before the mark: hold the relay there until it is stopped.
            acknowledged.countDown();
            try {
                Thread.sleep(Duration.ofMinutes(1));
            } catch (InterruptedException e) {
                throw new IllegalStateException("stopped", e);
            }
        });
        stopped.start();
        await(() -> sink.sent().size() == 1);
        sink.acknowledge(0);
        assertThat(acknowledged.await(5, TimeUnit.SECONDS)).isTrue();

        stopped.close();

        assertThat(relay.pending()).isEqualTo(1);
        List<String> seen = new ArrayList<>();
        relay.subscribe(event -> seen.add(event.subject()));
        assertThat(relay.relayOnce()).isEqualTo(1);
        assertThat(seen).containsExactly("acknowledged-not-marked");
        assertThat(relay.pending()).isZero();
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition met within 10 s").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /** An event engine whose acknowledgements the test gives, one batch at a time, in any order. */
    private static final class HeldSink implements OutboxRelay.Sink {
        private final List<List<String>> sent = new CopyOnWriteArrayList<>();
        private final List<CompletableFuture<Void>> acknowledgements = new CopyOnWriteArrayList<>();
        private final AtomicInteger resets = new AtomicInteger();

        @Override
        public CompletableFuture<Void> send(List<OutboxRelay.DispatchedEvent> batch) {
            CompletableFuture<Void> acknowledgement = new CompletableFuture<>();
            acknowledgements.add(acknowledgement);
            sent.add(batch.stream().map(OutboxRelay.DispatchedEvent::subject).toList());
            return acknowledgement;
        }

        @Override
        public void reset() {
            resets.incrementAndGet();
        }

        List<List<String>> sent() {
            return List.copyOf(sent);
        }

        int resets() {
            return resets.get();
        }

        void acknowledge(int batch) {
            acknowledgements.get(batch).complete(null);
        }

        void fail(int batch) {
            acknowledgements.get(batch).completeExceptionally(new IllegalStateException("broker refused the batch"));
        }
    }
}
