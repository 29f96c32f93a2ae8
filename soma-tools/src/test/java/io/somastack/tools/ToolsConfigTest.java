package io.somastack.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ToolsConfigTest {
    private static final Path DATA = Path.of("/var/lib/soma");

    @Test
    void anEmbeddedNodeKeepsItsSecretsKeyInTheDataDirectory() {
        Settings settings = Settings.of(Map.of());
        ToolsConfig config = ToolsConfig.from(settings, DATA, true);
        settings.validate();
        assertThat(config.secretsKey()).isEqualTo(new ToolsConfig.SecretsKey.KeyFile(DATA.resolve("tools-secrets.key")));
        assertThat(config.mcpServers()).isEmpty();
    }

    @Test
    void aNodeOnAnExternalDatabaseMustBeGivenTheSharedKeyAndItsValueIsNeverShown() {
        Settings missing = Settings.of(Map.of());
        ToolsConfig.from(missing, DATA, false);
        assertThatThrownBy(missing::validate).hasMessageContaining("tools.secrets.key (SOMA_TOOLS_SECRETS_KEY) is required with database.url");

        Settings bad = Settings.load(Map.of("SOMA_TOOLS_SECRETS_KEY", "c2hvcnQta2V5"), Optional.empty());
        ToolsConfig.from(bad, DATA, false);
        assertThatThrownBy(bad::validate).hasMessageContaining("must be the base64 of 32 random bytes").hasMessageNotContaining("c2hvcnQta2V5");

        String key = Base64.getEncoder().encodeToString(new byte[32]);
        Settings given = Settings.load(Map.of("SOMA_TOOLS_SECRETS_KEY", key), Optional.empty());
        ToolsConfig config = ToolsConfig.from(given, DATA, false);
        given.validate();
        assertThat(config.secretsKey()).isInstanceOf(ToolsConfig.SecretsKey.Given.class);
        assertThat(config.toString()).doesNotContain(key).contains("key=***");
    }

    @Test
    void operatorMcpServersAreReadFromYamlWithCommandArgsAndEnvironment() throws Exception {
        Path yaml = Files.createTempFile("tools", ".yaml");
        Files.writeString(yaml, """
                tools:
                  mcp:
                    servers:
                      weather:
                        command: node
                        args: [server.mjs, --quiet]
                        env:
                          WEATHER_TOKEN: abc
                      Bad_Name:
                        command: x
                      nocommand:
                        args: [a]
                        shell: yes
                """);
        Settings settings = Settings.load(Map.of(), Optional.of(yaml));
        ToolsConfig config = ToolsConfig.from(settings, DATA, true);
        assertThat(config.mcpServers()).containsOnlyKeys("weather");
        assertThat(config.mcpServers().get("weather")).isEqualTo(new ToolsConfig.McpServer("node", List.of("server.mjs", "--quiet"),
                Map.of("WEATHER_TOKEN", "abc")));
        assertThat(config.mcpServers().get("weather").toString()).doesNotContain("abc");
        assertThatThrownBy(settings::validate).hasMessageContaining("tools.mcp.servers.Bad_Name: a server name is")
                .hasMessageContaining("tools.mcp.servers.nocommand has unknown keys [nocommand.shell]")
                .hasMessageContaining("tools.mcp.servers.nocommand.command is required");
    }
}
