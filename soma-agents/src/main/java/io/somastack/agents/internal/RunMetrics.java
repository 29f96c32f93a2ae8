package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.somastack.agents.RunTotals;
import java.time.Duration;

/**
 * The agents' metrics: {@code soma.agent.run.duration{capsule,status}} (histogram),
 * {@code soma.agent.run.steps{capsule}}, {@code soma.agent.run.tokens{capsule,direction}},
 * {@code soma.agent.run.cost.usd{capsule}} and {@code soma.agent.run.ended{capsule,status,reason}}
 * (cancellations and failures by reason).
 */
public final class RunMetrics {
    private final MeterRegistry meters;

    public RunMetrics(MeterRegistry meters) {
        this.meters = requireNonNull(meters, "meters is null");
    }

    void tokens(String capsule, long input, long output) {
        meters.counter("soma.agent.run.tokens", "capsule", capsule, "direction", "input").increment(input);
        meters.counter("soma.agent.run.tokens", "capsule", capsule, "direction", "output").increment(output);
    }

    void ended(String capsule, String status, String reason, RunTotals totals, Duration duration) {
        Timer.builder("soma.agent.run.duration").tag("capsule", capsule).tag("status", status).publishPercentileHistogram().register(meters)
                .record(duration);
        DistributionSummary.builder("soma.agent.run.steps").tag("capsule", capsule).register(meters).record(totals.steps());
        meters.counter("soma.agent.run.cost.usd", "capsule", capsule).increment(totals.cost().amount().doubleValue());
        meters.counter("soma.agent.run.ended", "capsule", capsule, "status", status, "reason", reason).increment();
    }
}
