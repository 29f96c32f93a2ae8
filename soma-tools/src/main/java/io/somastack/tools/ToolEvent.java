package io.somastack.tools;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import tools.jackson.databind.JsonNode;

/**
 * What a tool call emits, in order: {@code tool.started}, any number of {@code tool.delta},
 * then exactly one of {@code tool.completed} or {@code tool.failed}. A call refused before it
 * runs (invalid arguments, denied) emits only {@code tool.failed}. {@link #data()} is the JSON
 * the wire carries (see the module README).
 */
public sealed interface ToolEvent permits ToolEvent.Started, ToolEvent.Delta, ToolEvent.Completed, ToolEvent.Failed {
    UUID callId();

    /** {@code tool.started}, {@code tool.delta}, {@code tool.completed} or {@code tool.failed}. */
    String type();

    /** The event's JSON members. */
    Map<String, Object> data();

    record Started(UUID callId, String capsule, String tool, String executor) implements ToolEvent {
        public Started {
            requireNonNull(callId, "callId is null");
            requireNonNull(capsule, "capsule is null");
            requireNonNull(tool, "tool is null");
            requireNonNull(executor, "executor is null");
        }

        @Override
        public String type() {
            return "tool.started";
        }

        @Override
        public Map<String, Object> data() {
            return Map.of("call_id", callId.toString(), "capsule", capsule, "tool", tool, "executor", executor);
        }
    }

    /** A bounded chunk of what the tool produced so far ({@code index} counts from 0). */
    record Delta(UUID callId, int index, String text) implements ToolEvent {
        public Delta {
            requireNonNull(callId, "callId is null");
            requireNonNull(text, "text is null");
        }

        @Override
        public String type() {
            return "tool.delta";
        }

        @Override
        public Map<String, Object> data() {
            return Map.of("call_id", callId.toString(), "index", index, "text", text);
        }
    }

    record Completed(UUID callId, JsonNode result, long durationMs, UUID ledgerId, Money cost) implements ToolEvent {
        public Completed {
            requireNonNull(callId, "callId is null");
            requireNonNull(result, "result is null");
            requireNonNull(ledgerId, "ledgerId is null");
            requireNonNull(cost, "cost is null");
        }

        @Override
        public String type() {
            return "tool.completed";
        }

        @Override
        public Map<String, Object> data() {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("call_id", callId.toString());
            data.put("result", result);
            data.put("duration_ms", durationMs);
            data.put("ledger_id", ledgerId.toString());
            data.put("cost", cost.toPlainString());
            return data;
        }
    }

    /** The call failed for {@code reason}; {@code detail} carries what the reason has (errors, decision id, ledger id). */
    record Failed(UUID callId, FailureReason reason, String message, Map<String, Object> detail) implements ToolEvent {
        public Failed {
            requireNonNull(callId, "callId is null");
            requireNonNull(reason, "reason is null");
            requireNonNull(message, "message is null");
            detail = Map.copyOf(detail);
        }

        @Override
        public String type() {
            return "tool.failed";
        }

        @Override
        public Map<String, Object> data() {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("call_id", callId.toString());
            data.put("reason", reason.wire());
            data.put("message", message);
            data.putAll(new java.util.TreeMap<>(detail));
            return data;
        }
    }
}
