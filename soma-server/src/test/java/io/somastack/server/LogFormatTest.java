package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** What {@code somastack run} writes, as a log shipper reads it. */
class LogFormatTest {

    /**
     * On the default format every line the process writes, to stdout or stderr, is one JSON
     * record: the records of libraries that log through java.util.logging too (Lucene's, at the
     * memory index's start), which before came as two plain lines each on stderr. The only text
     * lines are {@code run}'s banner for the person who started it: the generated operator key
     * (shown once) and the ready line.
     */
    @Test
    void everyLineOfTheDefaultLogIsAJsonRecordLibrariesLoggingThroughJavaUtilLoggingToo() throws Exception {
        ServerProcess.Launched launched = ServerProcess.launch("soma-log-format", Map.of("SOMA_LOG_FORMAT", "json"));
        Process server = launched.process();
        try {
            launched.awaitReadyz(answer -> answer.statusCode() == 200);
            server.destroy();
            assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("the server stops within 60 s").isTrue();
        } finally {
            server.destroyForcibly();
        }

        List<String> all = Files.readAllLines(launched.log()).stream().filter(line -> !line.isBlank()).toList();
        List<String> banner = all.stream().filter(LogFormatTest::banner).toList();
        assertThat(banner).as("run's banner").hasSize(3).last().asString().startsWith("SomaStack is ready on http://");
        List<String> lines = all.stream().filter(line -> !banner(line)).toList();
        assertThat(lines).as("the log").isNotEmpty();
        for (String line : lines) {
            JsonNode record;
            try {
                record = Json.mapper().readTree(line);
            } catch (RuntimeException notJson) {
                record = null;
            }
            assertThat(record != null && record.isObject() && record.has("level") && record.has("message"))
                    .as("a JSON log record: %s", line).isTrue();
        }
        assertThat(lines).as("Lucene's record of its vector support, through java.util.logging")
                .anySatisfy(line -> assertThat(Json.mapper().readTree(line).path("logger_name").asString("")).startsWith("org.apache.lucene."));
    }

    private static boolean banner(String line) {
        return line.startsWith("Operator key (shown once") || line.startsWith("  sk-soma-admin-") || line.startsWith("SomaStack is ready on ");
    }
}
