package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The official {@code openai} npm client, unchanged, against SomaStack: plain and streamed
 * completions with a tenant key, and the usage it reports equals what {@code /v1/usage}
 * shows. The client is installed from the npm registry into {@code target/} on first run
 * (no lock file is kept: it would name a registry host).
 */
class OpenAiNodeClientTest {
    private static final String CLIENT_VERSION = "5.12.0";

    @Test
    void theOfficialNodeClientWorksUnchangedAndItsUsageIsInTheLedger() throws Exception {
        Path work = Path.of("target", "openai-node").toAbsolutePath();
        installClient(work);
        try (TestServer soma = TestServer.start("")) {
            String key = soma.key(soma.tenant("node-co", ""), "{}");

            String output = run(work, List.of("node", "openai-client.mjs", soma.base + "/v1", key), 120);

            JsonNode seen = Json.mapper().readTree(output.lines().filter(line -> line.startsWith("{")).reduce((a, b) -> b).orElseThrow());
            assertThat(seen.get("plain").get("object").asString()).isEqualTo("chat.completion");
            assertThat(seen.get("plain").get("content").asString()).isNotNull();
            assertThat(seen.get("streamed").get("chunks").asInt()).isGreaterThan(1);
            JsonNode plainUsage = seen.get("plain").get("usage");
            JsonNode streamedUsage = seen.get("streamed").get("usage");
            assertThat(seen.get("embedding").get("dimensions").asInt()).isEqualTo(384);
            JsonNode byModel = soma.get("/v1/usage?group_by=model", key).json().get("data");
            // all-minilm-l6-v2-q, egress (the three answers' bodies, no calls of their own), local
            assertThat(byModel.findValuesAsString("model")).containsExactly("all-minilm-l6-v2-q", "egress", "local");
            assertThat(byModel.get(1).get("calls").asLong()).as("egress is no call").isZero();
            JsonNode ledger = byModel.get(2);
            assertThat(ledger.get("calls").asLong()).isEqualTo(2);
            assertThat(ledger.get("input_tokens").asLong())
                    .isEqualTo(plainUsage.get("prompt_tokens").asLong() + streamedUsage.get("prompt_tokens").asLong());
            assertThat(ledger.get("output_tokens").asLong())
                    .isEqualTo(plainUsage.get("completion_tokens").asLong() + streamedUsage.get("completion_tokens").asLong());
        }
    }

    private static void installClient(Path work) throws Exception {
        Files.createDirectories(work);
        Files.copy(Path.of("src/test/node/openai-client.mjs"), work.resolve("openai-client.mjs"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        if (Files.isDirectory(work.resolve("node_modules/openai"))) {
            return;
        }
        try {
            run(work, List.of("node", "--version"), 10);
        } catch (IOException e) {
            String reason = "Node.js is not installed: the OpenAI Node client test needs node and npm";
            if ("true".equals(System.getenv("CI"))) {
                throw new IllegalStateException(reason, e);
            }
            Assumptions.abort(reason);
        }
        run(work, List.of("npm", "install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "openai@" + CLIENT_VERSION), 300);
    }

    private static String run(Path directory, List<String> command, int timeoutSeconds) throws Exception {
        Process process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("%s timed out:%n%s".formatted(command, output));
        }
        assertThat(process.exitValue()).as("%s failed:%n%s", command, output).isZero();
        return output;
    }
}
