package io.somastack.bench;

import io.somastack.kafka.KafkaConfig;
import io.somastack.kafka.KafkaSink;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.OutboxEvent;
import io.somastack.store.OutboxRelay;
import io.somastack.store.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * The transactional outbox relayed to a real Kafka broker (a KRaft cluster in this JVM, Kafka's own
 * test kit, as soma-kafka's tests start it) next to a plain {@code KafkaProducer} sending the same
 * events with the same producer settings (idempotent, {@code acks=all}, one request in flight, linger
 * 5 ms), in one run:
 * <ol>
 *   <li>throughput: {@code events} events already committed to the outbox, relayed as SomaServer
 *       relays them (batches of 2000, up to {@link OutboxRelay#DEFAULT_IN_FLIGHT} out at once, woken by the group commit, {@link KafkaSink}), against the producer sending them as fast as it can;</li>
 *   <li>lag under load: events offered at {@code rate}/s for the same count, open loop; the outbox's lag is
 *       from the commit of the event's transaction (group commit, durable) to the broker's acknowledgement of
 *       its batch, the producer's from {@code send} to its acknowledgement.</li>
 * </ol>
 * Usage: {@code RelayBenchmark [events=20000] [rates=2000, comma-separated] [batch=2000] [inFlight=4]}.
 */
public final class RelayBenchmark {
    private static final String TYPE = "io.somastack.usage.recorded";

    public static void main(String[] arguments) throws Exception {
        int events = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 20_000;
        List<Integer> rates = new ArrayList<>();
        for (String rate : (arguments.length > 1 ? arguments[1] : "2000").split(",")) {
            rates.add(Integer.parseInt(rate.trim()));
        }
        int batchSize = arguments.length > 2 ? Integer.parseInt(arguments[2]) : 2000;
        int inFlight = arguments.length > 3 ? Integer.parseInt(arguments[3]) : OutboxRelay.DEFAULT_IN_FLIGHT;
        try (KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                .setCombined(false).setNumControllerNodes(1).setNumBrokerNodes(1).build())
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .setConfigProp("num.partitions", "3")
                .build()) {
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            String bootstrap = cluster.bootstrapServers();
            Map<String, String> topics = new HashMap<>();
            KafkaConfig.FAMILIES.forEach(family -> topics.put(family, "bench." + family));
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                admin.createTopics(topics.values().stream().map(topic -> new NewTopic(topic, 3, (short) 1)).toList()).all().get();
            }
            KafkaConfig config = new KafkaConfig(Optional.of(bootstrap), topics, Map.of(), Duration.ofSeconds(30));
            List<TenantId> tenants = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                tenants.add(new TenantId(UUID.randomUUID()));
            }
            Clock clock = Clock.system();
            Ids ids = new Ids(clock);
            try (Database database = TestDatabase.create();
                    GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 64, 2)) {
                // Warm-up of both paths (class loading, topic metadata, connections), not measured.
                relay(database, commit, config, tenants, batchSize, inFlight, 2_000, 0, "warm-up");
                produce(config, tenants, 2_000, 0, "warm-up");

                Result relayed = relay(database, commit, config, tenants, batchSize, inFlight, events, 0, "outbox relay, drain");
                Result produced = produce(config, tenants, events, 0, "plain producer, as fast as it can");
                List<Result> paced = new ArrayList<>();
                for (int rate : rates) {
                    paced.add(relay(database, commit, config, tenants, batchSize, inFlight, events, rate, "outbox relay, %d/s offered".formatted(rate)));
                    paced.add(produce(config, tenants, events, rate, "plain producer, %d/s offered".formatted(rate)));
                }

                System.out.printf("%nRelay: batches of %d, %d in flight%n", batchSize, inFlight);
                System.out.printf("%n| path | events | events/s | lag p50 | lag p99 | lag max |%n|---|---:|---:|---:|---:|---:|%n");
                // Draining a full outbox, an event's lag is mostly its wait in the queue: shown for the paced runs only.
                for (Result result : List.of(relayed, produced)) {
                    System.out.printf("| %s | %,d | %,.0f | - | - | - |%n", result.name(), result.events(), result.perSecond());
                }
                for (Result result : paced) {
                    System.out.printf("| %s | %,d | %,.0f | %.1f ms | %.1f ms | %.1f ms |%n", result.name(), result.events(), result.perSecond(),
                            result.lag().getValueAtPercentile(50) / 1e3, result.lag().getValueAtPercentile(99) / 1e3, result.lag().getMaxValue() / 1e3);
                }
            }
        }
        System.exit(0);
    }

    private record Result(String name, int events, double perSecond, Histogram lag) {
    }

    /** The data of a ledger row's billing event, about the size the real ones have. */
    private static Map<String, Object> data(int n) {
        return Map.of("model", "bench-model", "provider", "openai", "input_tokens", 1000 + n % 97, "output_tokens", 500 + n % 89,
                "estimated", false, "cost", "0.000450", "request_id", "req_" + n, "key_id", "00000000-0000-0000-0000-000000000000");
    }

    /**
     * Commits {@code events} outbox events (at {@code rate}/s, or all first when 0) and relays them to Kafka; the lag of
     * each is from its commit to the acknowledgement of its batch.
     */
    private static Result relay(Database database, GroupCommit commit, KafkaConfig config, List<TenantId> tenants, int batchSize,
            int inFlight, int events, int rate, String name) throws InterruptedException {
        AtomicLongArray committed = new AtomicLongArray(events);
        Histogram lag = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
        CountDownLatch delivered = new CountDownLatch(events);
        String prefix = UUID.randomUUID() + ":";
        long[] lastAck = new long[1];
        try (KafkaSink kafka = new KafkaSink(config)) {
            // As SomaServer relays (by default): batches of 2000, 4 out at once, woken by the group commit, polling every 200 ms.
            OutboxRelay relay = new OutboxRelay(database.dataSource(), Duration.ofMillis(200), batchSize, inFlight,
                    new OutboxRelay.Sink() {
                        @Override
                        public CompletableFuture<Void> send(List<OutboxRelay.DispatchedEvent> batch) {
                            return kafka.send(batch).thenRun(() -> acknowledged(batch));
                        }

                        @Override
                        public void reset() {
                            kafka.reset();
                        }

                        private void acknowledged(List<OutboxRelay.DispatchedEvent> batch) {
                            long now = System.nanoTime();
                            synchronized (lag) {
                                for (OutboxRelay.DispatchedEvent event : batch) {
                                    if (event.subject().startsWith(prefix)) {
                                        long at = committed.get(Integer.parseInt(event.subject().substring(prefix.length())));
                                        lag.recordValue(Math.min(lag.getHighestTrackableValue(), Math.max(0, now - at) / 1000));
                                        delivered.countDown();
                                    }
                                }
                                lastAck[0] = Math.max(lastAck[0], now);
                            }
                        }
                    });
            commit.afterEventsCommitted(relay::wake);
            long start;
            if (rate == 0) {
                offer(commit, tenants, events, 0, prefix, committed);
                start = System.nanoTime();
                relay.start();
            } else {
                relay.start();
                start = System.nanoTime();
                offer(commit, tenants, events, rate, prefix, committed);
            }
            if (!delivered.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException(name + ": not every event was relayed");
            }
            while (relay.pending() > 0) {
                Thread.sleep(5);
            }
            long marked = System.nanoTime();
            relay.close();
            double seconds = (lastAck[0] - start) / 1e9;
            System.out.printf("%s: %,d events in %.2f s (all marked dispatched by %.2f s)%n", name, events, seconds, (marked - start) / 1e9);
            return new Result(name, events, events / seconds, lag);
        }
    }

    /** Commits the events through the group commit from many writers, each event its own transaction as a ledger row's is. */
    private static void offer(GroupCommit commit, List<TenantId> tenants, int events, int rate, String prefix, AtomicLongArray committed)
            throws InterruptedException {
        long start = System.nanoTime();
        List<Thread> writers = new ArrayList<>();
        int writerCount = 64;
        for (int w = 0; w < writerCount; w++) {
            int first = w;
            writers.add(Thread.ofVirtual().start(() -> {
                for (int n = first; n < events; n += writerCount) {
                    if (rate > 0) {
                        long due = start + (long) (n * (1e9 / rate));
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            java.util.concurrent.locks.LockSupport.parkNanos(wait);
                        }
                    }
                    int index = n;
                    OutboxEvent event = new OutboxEvent(TYPE, prefix + index, Optional.of(tenants.get(index % tenants.size())), data(index));
                    // Stamped in the transaction, then again as its commit completes: the relay, woken by that commit, may
                    // have the event acknowledged before this writer thread is scheduled again on a loaded machine.
                    commit.submit(tx -> {
                        tx.publish(event);
                        committed.set(index, System.nanoTime());
                        return null;
                    }).thenRun(() -> committed.set(index, System.nanoTime())).join();
                }
            }));
        }
        for (Thread writer : writers) {
            writer.join();
        }
    }

    /** The same events straight to Kafka with KafkaSink's producer settings; the lag is from send to acknowledgement. */
    private static Result produce(KafkaConfig config, List<TenantId> tenants, int events, int rate, String name) throws InterruptedException {
        Map<String, Object> properties = new HashMap<>();
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrap().orElseThrow());
        properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        properties.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        properties.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        Histogram lag = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
        CountDownLatch acknowledged = new CountDownLatch(events);
        long[] lastAck = new long[1];
        String topic = config.topic(TYPE);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(properties, new StringSerializer(), new ByteArraySerializer())) {
            long start = System.nanoTime();
            for (int n = 0; n < events; n++) {
                if (rate > 0) {
                    long wait = start + (long) (n * (1e9 / rate)) - System.nanoTime();
                    if (wait > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(wait);
                    }
                }
                TenantId tenant = tenants.get(n % tenants.size());
                ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, tenant.value().toString(),
                        io.somastack.kernel.Json.bytes(data(n)));
                record.headers().add("ce_id", UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
                record.headers().add("ce_type", TYPE.getBytes(StandardCharsets.UTF_8));
                long sent = System.nanoTime();
                producer.send(record, (metadata, error) -> {
                    long now = System.nanoTime();
                    if (error == null) {
                        synchronized (lag) {
                            lag.recordValue((now - sent) / 1000);
                            lastAck[0] = now;
                        }
                        acknowledged.countDown();
                    }
                });
            }
            producer.flush();
            if (!acknowledged.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException(name + ": not every record was acknowledged");
            }
            double seconds = (lastAck[0] - start) / 1e9;
            System.out.printf("%s: %,d events in %.2f s%n", name, events, seconds);
            return new Result(name, events, events / seconds, lag);
        }
    }
}
