package io.somastack.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A short run of the tool broker benchmark on the real broker, tool server and MCP server: every path answers and is judged. */
class ToolBrokerBenchmarkTest {
    @Test
    void aShortRunReportsEveryPathAndJudgesEachTarget() throws Exception {
        String report = ToolBrokerBenchmark.run(20, 2);

        assertThat(report).contains("Wasm `transform`, warm, through the broker", "same logic as plain Java, in process",
                "Wasm, cold first call of a new module (compile)", "HTTP tool through the broker", "MCP tool through the broker",
                "Load average (1, 5, 15 min) before: ");
        assertThat(report.lines().filter(line -> line.contains("| p99 <= ")))
                .hasSize(3).allMatch(line -> line.endsWith("| **met** |") || line.endsWith("| **not met** |"));
        // 31 warm-up and measured calls per path (and the check call for Wasm), 2 cold modules called twice each.
        assertThat(report).contains("95 ledger rows were written");
    }

    @Test
    void thePlainJavaTransformAnswersWhatTheModuleAnswers() {
        String arguments = "{\"text\":\"fox\"}";
        assertThat(Json.text(ToolBrokerBenchmark.transformInJava(Json.tree(arguments.getBytes(StandardCharsets.UTF_8)))))
                .isEqualTo("{\"input\":{\"text\":\"fox\"},\"length\":14}");
    }
}
