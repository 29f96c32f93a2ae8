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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The outbox relayed to Kafka: each event becomes one record in its family's topic, keyed by
 * tenant id (the nil UUID for platform events), in the CloudEvents Kafka protocol binding's
 * binary mode (attributes as {@code ce_*} headers, the JSON data as the value). The producer
 * is idempotent with {@code acks=all}, so the broker keeps each partition in send order
 * without duplicates from its own retries; {@link #deliver} returns only when the whole
 * batch is acknowledged, else it throws and the relay sends the batch again (at least once:
 * consumers deduplicate by {@code ce_id}). Thread-safe.
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
     * Sends the batch and waits until every record is acknowledged. On any failure the producer
     * is replaced before the exception goes to the relay, so the batch is sent again from its
     * first event under a new producer id: a partition then holds, per producer, a gap-free
     * prefix of the batch followed by the whole batch again, and a consumer that skips ids it
     * has seen reads every key in order.
     */
    @Override
    public synchronized void deliver(List<DispatchedEvent> batch) {
        try {
            List<Future<RecordMetadata>> sent = new ArrayList<>(batch.size());
            for (DispatchedEvent event : batch) {
                sent.add(producer.send(record(event)));
            }
            producer.flush();
            for (Future<RecordMetadata> future : sent) {
                future.get();
            }
        } catch (ExecutionException | RuntimeException e) {
            replaceProducer();
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("Kafka did not accept the batch: " + cause.getMessage(), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            replaceProducer();
            throw new IllegalStateException("Interrupted while relaying to Kafka", e);
        }
    }

    private void replaceProducer() {
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
