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
        List<JsonNode> records = lines.stream().map(LogFormatTest::record).toList();
        for (int i = 0; i < lines.size(); i++) {
            assertThat(records.get(i)).as("a JSON log record: %s", lines.get(i)).isNotNull();
        }
        assertThat(records).as("Lucene's record of its vector support, through java.util.logging")
                .anySatisfy(record -> assertThat(record.path("logger_name").asString("")).startsWith("org.apache.lucene."));
    }

    /** The line as a JSON log record (an object with a level and a message), or null. */
    private static JsonNode record(String line) {
        try {
            JsonNode record = Json.mapper().readTree(line);
            return record != null && record.isObject() && record.has("level") && record.has("message") ? record : null;
        } catch (RuntimeException notJson) {
            return null;
        }
    }

    private static boolean banner(String line) {
        return line.startsWith("Operator key (shown once") || line.startsWith("  sk-soma-admin-") || line.startsWith("SomaStack is ready on ");
    }
}
