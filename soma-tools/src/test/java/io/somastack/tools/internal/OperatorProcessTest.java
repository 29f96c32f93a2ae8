package io.somastack.tools.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelcontextprotocol.json.jackson3.JacksonMcpJsonMapper;
import io.somastack.tools.ToolsConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class OperatorProcessTest {

    /**
     * The transport finds the process it started, not an older child of this JVM started with the
     * same arguments a moment before. It does not date processes: the JDK dates a process from the
     * boot time in whole seconds, up to a second early, and a one-second margin missed the server's
     * own process about half the time on a machine booted at .998 of a second (McpStdioServerTest
     * then timed out on a call to a server that had exited unnoticed).
     */
    @Test
    void findsTheProcessItStartedNotAnOlderOneWithTheSameArguments() throws Exception {
        Process older = new ProcessBuilder("sleep", "30").start();
        OperatorProcess transport = new OperatorProcess(new ToolsConfig.McpServer("sleep", List.of("30"), Map.of()),
                new JacksonMcpJsonMapper(JsonMapper.builder().build()));
        // As the SDK does: it takes the builder, then gives it the command line and starts it.
        Process started = transport.getProcessBuilder().command("sleep", "30").start();
        try {
            var found = transport.find();
            assertThat(found).as("the process the transport started").isPresent();
            assertThat(found.get().pid()).isEqualTo(started.pid()).isNotEqualTo(older.pid());
            OperatorProcess.release(found.get());
        } finally {
            started.destroyForcibly();
            older.destroyForcibly();
        }
    }
}
