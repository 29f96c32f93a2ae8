package io.somastack.tools.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.somastack.tools.FailureReason;
import java.time.Duration;

/**
 * The broker's metrics: {@code soma.tool.calls} by executor and outcome, the
 * {@code soma.tool.duration} histogram by executor, {@code soma.tool.sandbox.kills} by reason,
 * and {@code soma.tool.ssrf.refusals} by reason.
 */
public final class ToolMetrics {
    private final MeterRegistry meters;

    public ToolMetrics(MeterRegistry meters) {
        this.meters = meters;
    }

    public void call(String executor, String outcome, Duration duration) {
        Counter.builder("soma.tool.calls").description("Tool calls by executor and outcome").tag("executor", executor).tag("outcome", outcome)
                .register(meters).increment();
        Timer.builder("soma.tool.duration").description("Tool call duration (execution only)").tag("executor", executor)
                .publishPercentileHistogram().register(meters).record(duration);
    }

    public void rejected(String executor, String outcome) {
        Counter.builder("soma.tool.calls").description("Tool calls by executor and outcome").tag("executor", executor).tag("outcome", outcome)
                .register(meters).increment();
    }

    public void sandboxKill(FailureReason reason) {
        Counter.builder("soma.tool.sandbox.kills").description("Tool calls stopped at a sandbox limit").tag("reason", reason.wire())
                .register(meters).increment();
    }

    public void ssrfRefusal(String reason) {
        Counter.builder("soma.tool.ssrf.refusals").description("HTTP and MCP tool connections refused by the SSRF guard")
                .tag("reason", reason).register(meters).increment();
    }
}
