package io.somastack.agents;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a run used so far: its steps (model calls), tool calls, tokens and cost (the sum of
 * its ledger rows).
 */
public record RunTotals(int steps, int toolCalls, long inputTokens, long outputTokens, Money cost) {
    public static final RunTotals NONE = new RunTotals(0, 0, 0, 0, Money.ZERO);

    public RunTotals {
        requireNonNull(cost, "cost is null");
    }

    public RunTotals plusModelCall(long input, long output, Money callCost) {
        return new RunTotals(steps + 1, toolCalls, inputTokens + input, outputTokens + output, cost.plus(callCost));
    }

    public RunTotals plusToolCall(Money callCost) {
        return new RunTotals(steps, toolCalls + 1, inputTokens, outputTokens, cost.plus(callCost));
    }

    /** {@code usage} and {@code cost}, as every terminal event and the run carry them. */
    public Map<String, Object> wire() {
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("steps", steps);
        usage.put("tool_calls", toolCalls);
        usage.put("input_tokens", inputTokens);
        usage.put("output_tokens", outputTokens);
        Map<String, Object> wire = new LinkedHashMap<>();
        wire.put("usage", usage);
        wire.put("cost", cost.toPlainString());
        return wire;
    }
}
