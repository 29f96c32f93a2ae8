package io.somastack.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import io.somastack.store.Outbox;
import io.somastack.store.OutboxRelay;
import io.somastack.store.OutboxRelay.DispatchedEvent;
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
 * consumers deduplicate by {@code ce_id}). Used by one relay thread at a time.
 */
public final class KafkaSink implements OutboxRelay.Sink, AutoCloseable {
    /** The key of events that belong to no tenant. */
    public static final String PLATFORM_KEY = new UUID(0, 0).toString();

    private final KafkaConfig config;
    private final KafkaProducer<String, byte[]> producer;

    public KafkaSink(KafkaConfig config) {
        this.config = requireNonNull(config, "config is null");
        String bootstrap = config.bootstrap().orElseThrow(() -> new IllegalArgumentException("kafka.bootstrap is not set"));
        Map<String, Object> properties = new HashMap<>(config.client());
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        properties.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        properties.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
        properties.putIfAbsent(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        properties.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "somastack-outbox");
        int timeout = (int) Math.min(Integer.MAX_VALUE, config.deliveryTimeout().toMillis());
        properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, timeout);
        properties.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(30_000, timeout));
        properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout);
        this.producer = new KafkaProducer<>(properties, new StringSerializer(), new ByteArraySerializer());
    }

    /** The topic of an event type {@code io.somastack.<family>.<what>}. */
    public String topic(String type) {
        String[] parts = type.split("\\.");
        String family = parts.length > 2 ? parts[2] : "";
        String mapped = switch (family) {
            case "audit", "key", "tenant" -> "audit";
            case "billing", "usage", "invoice" -> "billing";
            case "policy" -> "policy";
            case "capsule" -> "capsule";
            default -> "conversation";
        };
        return config.topics().get(mapped);
    }

    @Override
    public void deliver(List<DispatchedEvent> batch) {
        List<Future<RecordMetadata>> sent = new ArrayList<>(batch.size());
        for (DispatchedEvent event : batch) {
            sent.add(producer.send(record(event)));
        }
        producer.flush();
        for (Future<RecordMetadata> future : sent) {
            try {
                future.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("Kafka did not accept the batch: " + e.getCause().getMessage(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while relaying to Kafka", e);
            }
        }
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
        return new ProducerRecord<>(topic(event.type()), null, key, event.data().getBytes(UTF_8), headers);
    }

    private static Header header(String name, String value) {
        return new RecordHeader(name, value.getBytes(UTF_8));
    }

    @Override
    public void close() {
        producer.close(java.time.Duration.ofSeconds(10));
    }
}
