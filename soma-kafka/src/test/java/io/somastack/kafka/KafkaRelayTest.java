package io.somastack.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.TenantId;
import io.somastack.store.OutboxEvent;
import io.somastack.store.OutboxRelay;
import io.somastack.store.OutboxRelayContract;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import kafka.server.BrokerServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The outbox relayed to a real KRaft cluster (one controller, one broker) started in the
 * test JVM by Kafka's own test kit: it passes the relay contract, and survives its broker
 * stopping mid-relay.
 */
class KafkaRelayTest extends OutboxRelayContract {
    private static final AtomicInteger RUN = new AtomicInteger();
    private static KafkaClusterTestKit cluster;

    private KafkaConfig config;
    private KafkaSink sink;

    @BeforeAll
    static void startBroker() throws Exception {
        cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                .setCombined(false).setNumControllerNodes(1).setNumBrokerNodes(1).build())
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .setConfigProp("num.partitions", "3")
                .build();
        cluster.format();
        cluster.startup();
        cluster.waitForReadyBrokers();
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void closeSink() {
        if (sink != null) {
            sink.close();
        }
    }

    @Override
    protected OutboxRelay relay(DataSource dataSource) {
        String run = "run" + RUN.incrementAndGet() + ".";
        Map<String, String> topics = new HashMap<>();
        KafkaConfig.FAMILIES.forEach(family -> topics.put(family, run + "soma." + family));
        config = new KafkaConfig(Optional.of(cluster.bootstrapServers()), topics, Map.of(), Duration.ofSeconds(30));
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrapServers()))) {
            admin.createTopics(topics.values().stream().map(topic -> new NewTopic(topic, 3, (short) 1)).toList()).all().get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        sink = new KafkaSink(config);
        return new OutboxRelay(dataSource, Duration.ofMillis(10), 500, sink).start();
    }

    @Override
    protected List<Received> received(int expected) {
        List<Received> received = new ArrayList<>();
        Set<UUID> ids = new LinkedHashSet<>();
        Properties properties = new Properties();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(properties, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : config.topics().values()) {
                for (int p = 0; p < 3; p++) {
                    partitions.add(new TopicPartition(topic, p));
                }
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            await(Duration.ofSeconds(60), () -> {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    Received event = decode(record);
                    if (ids.add(event.id())) {
                        received.add(event);
                    }
                }
                return ids.size() >= expected;
            });
        }
        return received;
    }

    /** Reads one record as a CloudEvents consumer would: binary mode, attributes in ce_* headers. */
    private static Received decode(ConsumerRecord<String, byte[]> record) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (Header header : record.headers()) {
            headers.put(header.key(), new String(header.value(), UTF_8));
        }
        assertThat(headers).containsEntry("ce_specversion", "1.0").containsEntry("content-type", "application/json")
                .containsKeys("ce_id", "ce_source", "ce_type", "ce_time");
        Optional<UUID> tenant = Optional.ofNullable(headers.get("ce_tenantid")).map(UUID::fromString);
        assertThat(record.key()).isEqualTo(tenant.map(UUID::toString).orElse(KafkaSink.PLATFORM_KEY));
        return new Received(UUID.fromString(headers.get("ce_id")), headers.get("ce_type"), headers.get("ce_subject"), tenant,
                Long.parseLong(headers.get("ce_sequence")), new String(record.value(), UTF_8));
    }

    @Test
    void tenThousandEventsSurviveTheBrokerStoppingMidRelayNoneLostNoneOutOfOrderPerTenant() throws Exception {
        List<TenantId> tenants = new ArrayList<>();
        for (int t = 0; t < 41; t++) {
            tenants.add(new TenantId(UUID.randomUUID()));
        }
        List<String> types = List.of("io.somastack.usage.recorded", "io.somastack.tool.called", "io.somastack.policy.decision",
                "io.somastack.capsule.installed", "io.somastack.key.created");
        List<OutboxEvent> events = new ArrayList<>();
        for (int n = 0; n < 10_000; n++) {
            events.add(event(types.get(n % types.size()), Optional.of(tenants.get(n % tenants.size())), n));
        }
        publish(events, 200);
        BrokerServer broker = cluster.brokers().values().iterator().next();

        try (OutboxRelay relay = relay(database.dataSource())) {
            await(Duration.ofSeconds(30), () -> relay.pending() < 7_000);
            broker.shutdown();
            broker.awaitShutdown();
            long pendingWhileDown = relay.pending();
            Thread.sleep(2_000);
            assertThat(relay.pending()).as("nothing is marked dispatched while the broker is down").isEqualTo(pendingWhileDown).isPositive();
            broker.startup();
            await(Duration.ofSeconds(45), () -> relay.pending() == 0);

            List<Received> received = received(10_000);

            assertThat(received).hasSize(10_000);
            Map<String, List<Long>> perTenantAndTopic = received.stream().collect(Collectors.groupingBy(
                    event -> event.tenantId().orElseThrow() + " " + config.topic(event.type()),
                    Collectors.mapping(Received::sequence, Collectors.toList())));
            assertThat(perTenantAndTopic).hasSize(41 * types.size());
            perTenantAndTopic.values().forEach(sequences -> assertThat(sequences).isSorted().doesNotHaveDuplicates());
        }
    }
}
