package io.somastack.kafka;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The event bus. Without {@code bootstrap} the outbox is dispatched in process only (the
 * embedded default); with it, every outbox event is also relayed to Kafka.
 *
 * @param bootstrap {@code kafka.bootstrap} ({@code SOMA_KAFKA_BOOTSTRAP}), e.g. {@code broker1:9092,broker2:9092}
 * @param topics topic per event family ({@code audit}, {@code billing}, {@code conversation},
 *     {@code policy}, {@code capsule}), from {@code kafka.topic.<family>}, default {@code soma.<family>}
 * @param client Kafka producer properties passed through as they are, from {@code kafka.client.*}
 *     (security: {@code SOMA_KAFKA_CLIENT_SECURITY_PROTOCOL=SASL_SSL},
 *     {@code SOMA_KAFKA_CLIENT_SASL_MECHANISM}, {@code SOMA_KAFKA_CLIENT_SASL_JAAS_CONFIG},
 *     {@code SOMA_KAFKA_CLIENT_SSL_TRUSTSTORE_LOCATION}, ...)
 * @param deliveryTimeout how long a batch may wait for the brokers before it is left pending and
 *     sent again ({@code kafka.delivery.timeout}, default 2m)
 */
public record KafkaConfig(Optional<String> bootstrap, Map<String, String> topics, Map<String, String> client, Duration deliveryTimeout) {
    /** The event families, each with its own topic. */
    public static final java.util.List<String> FAMILIES = java.util.List.of("audit", "billing", "conversation", "policy", "capsule");

    public KafkaConfig {
        requireNonNull(bootstrap, "bootstrap is null");
        Map<String, String> all = new LinkedHashMap<>();
        for (String family : FAMILIES) {
            all.put(family, topics.getOrDefault(family, "soma." + family));
        }
        topics = Map.copyOf(all);
        client = Map.copyOf(client);
        if (deliveryTimeout.isNegative() || deliveryTimeout.isZero()) {
            throw new IllegalArgumentException("kafka.delivery.timeout must be positive");
        }
    }

    public static KafkaConfig from(Settings settings) {
        Map<String, String> topics = settings.withPrefix("kafka.topic");
        topics.keySet().stream().filter(family -> !FAMILIES.contains(family))
                .forEach(family -> settings.problem("kafka.topic.%s: unknown event family (one of %s)".formatted(family, FAMILIES)));
        Map<String, String> client = settings.withPrefix("kafka.client");
        if (client.containsKey("bootstrap.servers")) {
            settings.problem("kafka.client.bootstrap.servers: set kafka.bootstrap (SOMA_KAFKA_BOOTSTRAP) instead");
        }
        Duration timeout = settings.duration("kafka.delivery.timeout", Duration.ofMinutes(2));
        if (timeout.isNegative() || timeout.isZero()) {
            settings.problem("kafka.delivery.timeout='%s' must be positive".formatted(timeout));
            timeout = Duration.ofMinutes(2);
        }
        return new KafkaConfig(settings.string("kafka.bootstrap"), topics, client, timeout);
    }

    /** Events stay in process. */
    public static KafkaConfig disabled() {
        return new KafkaConfig(Optional.empty(), Map.of(), Map.of(), Duration.ofMinutes(2));
    }

    public static KafkaConfig of(String bootstrap) {
        return new KafkaConfig(Optional.of(bootstrap), Map.of(), Map.of(), Duration.ofMinutes(2));
    }

    /**
     * The topic of an event type {@code io.somastack.<family>.<what>}: audit, key and tenant
     * events to {@code audit}; usage and billing to {@code billing}; policy; capsule; the
     * rest (tool calls, memory, agent runs) to {@code conversation}.
     */
    public String topic(String type) {
        String[] parts = type.split("\\.");
        String family = parts.length > 2 ? parts[2] : "";
        return topics.get(switch (family) {
            case "audit", "key", "tenant" -> "audit";
            case "billing", "usage" -> "billing";
            case "policy" -> "policy";
            case "capsule" -> "capsule";
            default -> "conversation";
        });
    }

    public boolean enabled() {
        return bootstrap.isPresent();
    }
}
