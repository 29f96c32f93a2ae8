package io.somastack.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.Test;

/** With kafka.bootstrap set, the server's outbox events reach Kafka as CloudEvents. */
class KafkaEventsEndToEndTest {

    @Test
    void aCreatedTenantIsACloudEventOnTheAuditTopicKeyedByItsId() throws Exception {
        try (KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                .setCombined(true).setNumControllerNodes(1).setNumBrokerNodes(1).build())
                .setConfigProp("offsets.topic.replication.factor", "1")
                .build()) {
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();

            try (TestServer server = TestServer.start("kafka:\n  bootstrap: \"%s\"\n  topic:\n    audit: acme.audit\n"
                    .formatted(cluster.bootstrapServers()))) {
                String tenant = server.tenant("kafka-co", "");

                Map<String, String> headers = firstRecordOf(cluster.bootstrapServers(), "acme.audit", "io.somastack.tenant.created", tenant);

                assertThat(headers).containsEntry("ce_specversion", "1.0").containsEntry("ce_source", "urn:somastack")
                        .containsEntry("ce_tenantid", tenant).containsEntry("content-type", "application/json")
                        .containsKeys("ce_id", "ce_time", "ce_sequence");
            }
        }
    }

    /** The headers of the first record of {@code type} keyed by {@code key}, waiting up to 30 s. */
    private static Map<String, String> firstRecordOf(String bootstrap, String topic, String type, String key) throws InterruptedException {
        Properties properties = new Properties();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(properties, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            while (partitions.isEmpty() && System.nanoTime() < deadline) {
                consumer.listTopics().getOrDefault(topic, List.of()).forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
                Thread.sleep(100);
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    Map<String, String> headers = new LinkedHashMap<>();
                    for (Header header : record.headers()) {
                        headers.put(header.key(), new String(header.value(), UTF_8));
                    }
                    if (key.equals(record.key()) && type.equals(headers.get("ce_type"))) {
                        return headers;
                    }
                }
            }
        }
        throw new AssertionError("No %s keyed %s on %s within 30 s".formatted(type, key, topic));
    }
}
