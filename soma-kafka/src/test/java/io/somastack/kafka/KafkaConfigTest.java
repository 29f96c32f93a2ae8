package io.somastack.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Settings;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KafkaConfigTest {
    @Test
    void eventTypesMapToTheirFamilysTopic() {
        KafkaConfig config = KafkaConfig.of("localhost:9092");

        assertThat(config.topic("io.somastack.usage.recorded")).isEqualTo("soma.billing");
        assertThat(config.topic("io.somastack.billing.invoice.finalized")).isEqualTo("soma.billing");
        assertThat(config.topic("io.somastack.audit.checkpoint")).isEqualTo("soma.audit");
        assertThat(config.topic("io.somastack.key.created")).isEqualTo("soma.audit");
        assertThat(config.topic("io.somastack.policy.decision")).isEqualTo("soma.policy");
        assertThat(config.topic("io.somastack.capsule.published")).isEqualTo("soma.capsule");
        assertThat(config.topic("io.somastack.tool.called")).isEqualTo("soma.conversation");
        assertThat(config.topic("io.somastack.memory.remembered")).isEqualTo("soma.conversation");
    }

    @Test
    void bootstrapTopicsAndSecuritySettingsComeFromTheEnvironment() {
        Settings settings = Settings.load(Map.of(
                "SOMA_KAFKA_BOOTSTRAP", "b1:9093,b2:9093",
                "SOMA_KAFKA_TOPIC_BILLING", "acme.billing",
                "SOMA_KAFKA_CLIENT_SECURITY_PROTOCOL", "SASL_SSL",
                "SOMA_KAFKA_CLIENT_SASL_MECHANISM", "SCRAM-SHA-512"), java.util.Optional.empty());

        KafkaConfig config = KafkaConfig.from(settings);
        settings.validate();

        assertThat(config.enabled()).isTrue();
        assertThat(config.bootstrap()).contains("b1:9093,b2:9093");
        assertThat(config.topic("io.somastack.usage.recorded")).isEqualTo("acme.billing");
        assertThat(config.topic("io.somastack.policy.changed")).isEqualTo("soma.policy");
        assertThat(config.client()).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "SCRAM-SHA-512");
    }

    @Test
    void withoutABootstrapEventsStayInProcess() {
        Settings settings = Settings.load(Map.of(), java.util.Optional.empty());

        assertThat(KafkaConfig.from(settings).enabled()).isFalse();
    }

    @Test
    void anUnknownFamilyIsAConfigProblem() {
        Settings settings = Settings.load(Map.of("SOMA_KAFKA_TOPIC_BILING", "x"), java.util.Optional.empty());
        KafkaConfig.from(settings);

        assertThatThrownBy(settings::validate).hasMessageContaining("kafka.topic.biling: unknown event family");
    }
}
