package io.somastack.workflows;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Settings;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class WorkflowsConfigTest {

    @Test
    void defaultsToTheEmbeddedEngineAndARegionalTaskQueue() {
        Settings settings = Settings.of(Map.of());
        WorkflowsConfig config = WorkflowsConfig.from(settings, "eu");
        settings.validate();

        assertThat(config).isEqualTo(WorkflowsConfig.defaults("eu"));
        assertThat(config.target()).isEmpty();
        assertThat(config.taskQueue()).isEqualTo("soma-jobs-eu");
        assertThat(config.namespace()).isEqualTo("default");
    }

    @Test
    void readsEveryKey() {
        Settings settings = Settings.load(Map.of("SOMA_TEMPORAL_TARGET", "temporal.internal:7233", "SOMA_TEMPORAL_NAMESPACE", "soma",
                "SOMA_TEMPORAL_TLS", "true", "SOMA_TEMPORAL_TLS_CERT", "/etc/soma/client.pem", "SOMA_TEMPORAL_TLS_KEY", "/etc/soma/client.key",
                "SOMA_WORKFLOWS_TASK__QUEUE", "jobs-a", "SOMA_WORKFLOWS_WORKER__CONCURRENCY", "8", "SOMA_WORKFLOWS_MAX__NODES", "12",
                "SOMA_WORKFLOWS_MAX__ITEMS", "4"), Optional.empty());
        WorkflowsConfig config = WorkflowsConfig.from(settings, "eu");
        settings.validate();

        assertThat(config).isEqualTo(new WorkflowsConfig(Optional.of("temporal.internal:7233"), "soma", true,
                Optional.of(Path.of("/etc/soma/client.pem")), Optional.of(Path.of("/etc/soma/client.key")), "jobs-a", 8, 12, 4));
    }

    @Test
    void refusesACertificateWithoutItsKeyAndNumbersOutOfRange() {
        Settings settings = Settings.load(Map.of("SOMA_TEMPORAL_TLS_CERT", "/etc/soma/client.pem", "SOMA_WORKFLOWS_MAX__NODES", "0"),
                Optional.empty());
        WorkflowsConfig.from(settings, "eu");

        assertThatThrownBy(settings::validate).hasMessageContaining("workflows.max-nodes").hasMessageContaining("temporal.tls.key");
    }
}
