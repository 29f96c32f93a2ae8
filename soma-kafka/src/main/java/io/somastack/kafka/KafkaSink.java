package io.somastack.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import io.somastack.store.Outbox;
import io.somastack.store.OutboxRelay;
import io.somastack.store.OutboxRelay.DispatchedEvent;
import java.time.Duration;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The outbox relayed to Kafka: each event becomes one record in its family's topic, keyed by
 * tenant id (the nil UUID for platform events), in the CloudEvents Kafka protocol binding's
 * binary mode (attributes as {@code ce_*} headers, the JSON data as the value). The producer
 * is idempotent with {@code acks=all}, so the broker keeps each partition in send order
 * without duplicates from its own retries; the future of {@link #send} completes only when the
 * whole batch is acknowledged, else the relay {@linkplain #reset() resets} the sink and sends the
 * batch again (at least once: consumers deduplicate by {@code ce_id}). Thread-safe.
 */
public final class KafkaSink implements OutboxRelay.Sink, AutoCloseable {
    /** The key of events that belong to no tenant. */
    public static final String PLATFORM_KEY = new UUID(0, 0).toString();

    private final KafkaConfig config;
    private final Map<String, Object> properties;
    private KafkaProducer<String, byte[]> producer;

    public KafkaSink(KafkaConfig config) {
        this.config = requireNonNull(config, "config is null");
        String bootstrap = config.bootstrap().orElseThrow(() -> new IllegalArgumentException("kafka.bootstrap is not set"));
        Map<String, Object> properties = new HashMap<>(config.client());
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        // One request in flight: a fresh partition accepts a new producer's first batch at any sequence, so a
        // pipelined later batch could land before a retried earlier one (seen as OutOfOrderSequenceException).
        properties.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        properties.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        properties.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "somastack-outbox");
        int timeout = (int) Math.min(Integer.MAX_VALUE, config.deliveryTimeout().toMillis());
        properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, timeout);
        properties.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(30_000, timeout / 2));
        properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout);
        this.properties = Map.copyOf(properties);
        this.producer = newProducer();
    }

    private KafkaProducer<String, byte[]> newProducer() {
        return new KafkaProducer<>(properties, new StringSerializer(), new ByteArraySerializer());
    }

    /**
     * Hands every event of the batch to the producer, after the batches sent before it (the producer keeps each
     * partition in that order); the future completes when the brokers acknowledged every record, exceptionally at the
     * first record they refused or that timed out.
     */
    @Override
    public synchronized CompletableFuture<Void> send(List<DispatchedEvent> batch) {
        CompletableFuture<Void> acknowledged = new CompletableFuture<>();
        if (batch.isEmpty()) {
            acknowledged.complete(null);
            return acknowledged;
        }
        AtomicInteger unacknowledged = new AtomicInteger(batch.size());
        Callback callback = (metadata, error) -> {
            if (error != null) {
                acknowledged.completeExceptionally(new IllegalStateException("Kafka did not accept the batch: " + error.getMessage(), error));
            } else if (unacknowledged.decrementAndGet() == 0) {
                acknowledged.complete(null);
            }
        };
        try {
            for (DispatchedEvent event : batch) {
                producer.send(record(event), callback);
            }
        } catch (RuntimeException e) {
            acknowledged.completeExceptionally(new IllegalStateException("Kafka did not accept the batch: " + e.getMessage(), e));
        }
        return acknowledged;
    }

    /**
     * Replaces the producer: what the old one still holds is dropped, and the batches the relay sends again (from the
     * oldest unmarked one) go out under a new producer id, so a partition then holds, per producer, what the brokers
     * had accepted in order followed by those batches again, and a consumer that skips ids it has seen reads every key
     * in order.
     */
    @Override
    public synchronized void reset() {
        producer.close(Duration.ZERO);
        producer = newProducer();
    }

    /** One event in the CloudEvents Kafka protocol binding, binary content mode. */
    ProducerRecord<String, byte[]> record(DispatchedEvent event) {
        String key = event.tenantId() == null ? PLATFORM_KEY : event.tenantId().toString();
        List<Header> headers = new ArrayList<>(9);
        headers.add(header("ce_specversion", "1.0"));
        headers.add(header("ce_id", event.id().toString()));
        headers.add(header("ce_source", Outbox.SOURCE));
        headers.add(header("ce_type", event.type()));
        headers.add(header("ce_subject", event.subject()));
        headers.add(header("ce_time", DateTimeFormatter.ISO_INSTANT.format(event.time())));
        headers.add(header("ce_sequence", Long.toString(event.seq())));
        if (event.tenantId() != null) {
            headers.add(header("ce_tenantid", event.tenantId().toString()));
        }
        headers.add(header("content-type", "application/json"));
        return new ProducerRecord<>(config.topic(event.type()), null, key, event.data().getBytes(UTF_8), headers);
    }

    private static Header header(String name, String value) {
        return new RecordHeader(name, value.getBytes(UTF_8));
    }

    @Override
    public synchronized void close() {
        producer.close(Duration.ofSeconds(10));
    }
}
