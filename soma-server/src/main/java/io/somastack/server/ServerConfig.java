package io.somastack.server;

import io.somastack.gateway.GatewayConfig;
import io.somastack.kafka.KafkaConfig;
import io.somastack.kernel.Settings;
import io.somastack.agents.AgentsConfig;
import io.somastack.marketplace.MarketplaceConfig;
import io.somastack.memory.MemoryConfig;
import io.somastack.metering.BillingConfig;
import io.somastack.metering.MeteringConfig;
import io.somastack.models.ModelsConfig;
import io.somastack.policy.PolicyConfig;
import io.somastack.store.StoreConfig;
import io.somastack.tools.ToolsConfig;
import io.somastack.workflows.WorkflowsConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Everything SomaStack is configured with: one record per capability. Built from
 * {@code SOMA_*} environment variables and an optional YAML file; {@link #from} fails with
 * every problem listed when a key is unknown or a value is bad.
 */
public record ServerConfig(
        String host,
        int port,
        Path dataDirectory,
        Duration shutdownGrace,
        Duration warmup,
        int defaultMaxTokens,
        StoreConfig store,
        KafkaConfig kafka,
        GatewayConfig gateway,
        ModelsConfig models,
        MeteringConfig metering,
        BillingConfig billing,
        MemoryConfig memory,
        PolicyConfig policy,
        MarketplaceConfig marketplace,
        ToolsConfig tools,
        AgentsConfig agents,
        WorkflowsConfig workflows) {

    public static ServerConfig from(Settings settings, Map<String, String> environment, Integer portOverride, Path dataDirectoryOverride) {
        Path dataDirectory = dataDirectoryOverride != null ? dataDirectoryOverride : Path.of(settings.string("data.dir", ".somastack"));
        int port = settings.integer("port", 8080, 0, 65535);
        GatewayConfig gateway = GatewayConfig.from(settings);
        StoreConfig store = StoreConfig.from(settings, dataDirectory);
        ServerConfig config = new ServerConfig(
                settings.string("host", "127.0.0.1"),
                portOverride != null ? portOverride : port,
                dataDirectory.toAbsolutePath().normalize(),
                settings.duration("shutdown.grace", Duration.ofSeconds(20)),
                warmup(settings),
                settings.integer("default.max.tokens", 4096, 1, 1_000_000),
                store,
                KafkaConfig.from(settings),
                gateway,
                ModelsConfig.from(settings, environment),
                MeteringConfig.from(settings),
                BillingConfig.from(settings),
                MemoryConfig.from(settings, dataDirectory.toAbsolutePath().normalize()),
                PolicyConfig.from(settings),
                MarketplaceConfig.from(settings),
                ToolsConfig.from(settings, dataDirectory.toAbsolutePath().normalize(), store.databaseUrl().isEmpty()),
                AgentsConfig.from(settings),
                WorkflowsConfig.from(settings, gateway.region()));
        settings.validate();
        return config;
    }

    /** How long the node warms up before it is ready ({@link WarmUp}): {@code warmup}, 0s (off) to 10m. */
    private static Duration warmup(Settings settings) {
        Duration warmup = settings.duration("warmup", Duration.ZERO);
        if (warmup.isNegative() || warmup.compareTo(Duration.ofMinutes(10)) > 0) {
            settings.problem("warmup='%s' must be from 0s (off) to 10m".formatted(settings.string("warmup").orElse("")));
            return Duration.ZERO;
        }
        return warmup;
    }
}
