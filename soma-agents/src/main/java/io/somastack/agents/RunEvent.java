package io.somastack.agents;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.tools.ToolEvent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import tools.jackson.databind.JsonNode;

/**
 * What a run emits, in order: {@code run.started}, then any of {@code memory.recalled}, {@code memory.remembered},
 * {@code model.delta}, {@code model.completed}, {@code tool.started}, {@code tool.delta},
 * {@code tool.completed}, {@code tool.failed} and {@code policy.denied}, and exactly one
 * terminal event: {@code run.completed}, {@code run.failed}, {@code run.cancelled} or
 * {@code run.interrupted} (written by the sweeper for a run whose node died). Each is stored
 * with its per-run sequence number before any client sees it (see the module README for the
 * wire format). {@link #data()} is the JSON the wire carries.
 */
public sealed interface RunEvent permits RunEvent.Started, RunEvent.MemoryRecalled, RunEvent.MemoryRemembered, RunEvent.ModelDelta, RunEvent.ModelCompleted,
        RunEvent.ToolStarted, RunEvent.ToolDelta, RunEvent.ToolCompleted, RunEvent.ToolFailed, RunEvent.PolicyDenied, RunEvent.Completed,
        RunEvent.Failed, RunEvent.Cancelled, RunEvent.Interrupted {

    /** The wire name, e.g. {@code model.delta}. */
    String type();

    /** The event's JSON members. */
    Map<String, Object> data();

    /** True for the events that end a run. */
    default boolean terminal() {
        return this instanceof Completed || this instanceof Failed || this instanceof Cancelled || this instanceof Interrupted;
    }

    /** The broker's event data after the run's {@code step}: how {@code tool.completed} and {@code tool.failed} carry the broker's event. */
    private static Map<String, Object> withStep(int step, ToolEvent event) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("step", step);
        data.putAll(event.data());
        return data;
    }

    /** True when {@code type} names a terminal event. */
    static boolean terminal(String type) {
        return type.equals("run.completed") || type.equals("run.failed") || type.equals("run.cancelled") || type.equals("run.interrupted");
    }

    record Started(UUID runId, String agent, String version, Optional<UUID> conversationId, String model) implements RunEvent {
        public Started {
            requireNonNull(runId, "runId is null");
            requireNonNull(agent, "agent is null");
            requireNonNull(version, "version is null");
            requireNonNull(conversationId, "conversationId is null");
            requireNonNull(model, "model is null");
        }

        @Override
        public String type() {
            return "run.started";
        }

        @Override
        public Map<String, Object> data() {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("run_id", runId.toString());
            data.put("agent", agent);
            data.put("version", version);
            conversationId.ifPresent(id -> data.put("conversation_id", id.toString()));
            data.put("model", model);
            return data;
        }
    }

    /** The facts recalled for the run, each with its revision and provenance, cited in the prompt as [1], [2]... */
    record MemoryRecalled(UUID recallId, List<Map<String, Object>> facts) implements RunEvent {
        public MemoryRecalled {
            requireNonNull(recallId, "recallId is null");
            facts = List.copyOf(facts);
        }

        @Override
        public String type() {
            return "memory.recalled";
        }

        @Override
        public Map<String, Object> data() {
            return Map.of("recall_id", recallId.toString(), "facts", facts);
        }
    }

    /**
     * A fact the model stored with the built-in {@code remember} tool in step {@code step}, call {@code callId}: the memory, the
     * revision written ({@code outcome} {@code created}, {@code revised} or {@code unchanged}) and its scope ({@code kind:id}).
     */
    record MemoryRemembered(int step, String callId, UUID memoryId, UUID revisionId, String scope, String outcome) implements RunEvent {
        public MemoryRemembered {
            requireNonNull(callId, "callId is null");
            requireNonNull(memoryId, "memoryId is null");
            requireNonNull(revisionId, "revisionId is null");
            requireNonNull(scope, "scope is null");
            requireNonNull(outcome, "outcome is null");
        }

        @Override
        public String type() {
            return "memory.remembered";
        }

        @Override
        public Map<String, Object> data() {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("step", step);
            data.put("call_id", callId);
            data.put("memory_id", memoryId.toString());
            data.put("revision_id", revisionId.toString());
            data.put("scope", scope);
            data.put("outcome", outcome);
            return data;
        }
    }

    /** Text the model produced in step {@code step}, as it came. */
    record ModelDelta(int step, String text) implements RunEvent {
        public ModelDelta {
            requireNonNull(text, "text is null");
        }

        @Override
        public String type() {
            return "model.delta";
        }

        @Override
        public Map<String, Object> data() {
            return Map.of("step", step, "text", text);
        }
    }

    record ModelCompleted(int step, UUID ledgerId, String model, String provider, long inputTokens, long outputTokens, Money cost,
            String finish) implements RunEvent {
        public ModelCompleted {
            requireNonNull(ledgerId, "ledgerId is null");
            requireNonNull(model, "model is null");
            requireNonNull(provider, "provider is null");
            requireNonNull(cost, "cost is null");
            requireNonNull(finish, "finish is null");
        }

        @Override
        public String type() {
            return "model.completed";
        }

        @Override
        public Map<String, Object> data() {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("step", step);
            data.put("ledger_id", ledgerId.toString());
            data.put("model", model);
            data.put("provider", provider);
            data.put("usage", Map.of("input_tokens", inputTokens, "output_tokens", outputTokens));
            data.put("cost", cost.toPlainString());
            data.put("finish", finish);
            return data;
        }
    }

    /** The model's call of {@code tool} with {@code arguments} (its JSON, as parsed) started. */
    record ToolStarted(int step, UUID callId, String tool, String executor, JsonNode arguments) implements RunEvent {
        public ToolStarted {
            requireNonNull(callId, "callId is null");
            requireNonNull(arguments, "arguments is null");
            requireNonNull(tool, "tool is null");
            requireNonNull(executor, "executor is null");
        }

        @Override
        public String type() {
            return "tool.started";
        }

        @Override
        public Map<String, Object> data() {
            return Map.of("step", step, "call_id", callId.toString(), "tool", tool, "executor", executor, "arguments", arguments);
        }
    }

    record ToolDelta(int step, UUID callId, int index, String text) implements RunEvent {
        public ToolDelta {
            requireNonNull(callId, "callId is null");
            requireNonNull(text, "text is null");
        }

        @Override
        public String type() {
            return "tool.delta";
        }

        @Override
        public Map<String, Object> data() {
            return Map.of("step", step, "call_id", callId.toString(), "index", index, "text", text);
        }
    }

    /** A tool call that completed: the tool broker's {@code tool.completed}, with the step. */
    record ToolCompleted(int step, ToolEvent.Completed event) implements RunEvent {
        public ToolCompleted {
            requireNonNull(event, "event is null");
        }

        @Override
        public String type() {
            return "tool.completed";
        }

        @Override
        public Map<String, Object> data() {
            return withStep(step, event);
        }
    }

    /** A tool call that failed or was refused: the tool broker's {@code tool.failed}, with the step. */
    record ToolFailed(int step, ToolEvent.Failed event) implements RunEvent {
        public ToolFailed {
            requireNonNull(event, "event is null");
        }

        @Override
        public String type() {
            return "tool.failed";
        }

        @Override
        public Map<String, Object> data() {
            return withStep(step, event);
        }
    }

    /** Runtime policy denied {@code subject} (a tool call); the decision is on record under {@code decisionId}. */
    record PolicyDenied(UUID decisionId, String subject, String message) implements RunEvent {
        public PolicyDenied {
            requireNonNull(decisionId, "decisionId is null");
            requireNonNull(subject, "subject is null");
            requireNonNull(message, "message is null");
        }

        @Override
        public String type() {
            return "policy.denied";
        }

        @Override
        public Map<String, Object> data() {
            return Map.of("decision_id", decisionId.toString(), "subject", subject, "message", message);
        }
    }

    record Completed(String answer, RunTotals totals, UUID provenanceId) implements RunEvent {
        public Completed {
            requireNonNull(answer, "answer is null");
            requireNonNull(totals, "totals is null");
            requireNonNull(provenanceId, "provenanceId is null");
        }

        @Override
        public String type() {
            return "run.completed";
        }

        @Override
        public Map<String, Object> data() {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("answer", answer);
            data.putAll(totals.wire());
            data.put("provenance_id", provenanceId.toString());
            return data;
        }
    }

    /** The run ended without an answer for {@code reason} (see {@link FailureReason}); billed for what ran. */
    record Failed(String reason, String message, RunTotals totals, Map<String, Object> detail) implements RunEvent {
        public Failed {
            requireNonNull(reason, "reason is null");
            requireNonNull(message, "message is null");
            requireNonNull(totals, "totals is null");
            detail = Map.copyOf(detail);
        }

        @Override
        public String type() {
            return "run.failed";
        }

        @Override
        public Map<String, Object> data() {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("reason", reason);
            data.put("message", message);
            data.putAll(totals.wire());
            data.putAll(new TreeMap<>(detail));
            return data;
        }
    }

    record Cancelled(String by, RunTotals totals) implements RunEvent {
        public Cancelled {
            requireNonNull(by, "by is null");
            requireNonNull(totals, "totals is null");
        }

        @Override
        public String type() {
            return "run.cancelled";
        }

        @Override
        public Map<String, Object> data() {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("by", by);
            data.putAll(totals.wire());
            return data;
        }
    }

    /** Written by the sweeper: the run's node stopped mid-run; {@code cost} is what the ledger holds for it, settled once. */
    record Interrupted(String message, Money cost) implements RunEvent {
        public Interrupted {
            requireNonNull(message, "message is null");
            requireNonNull(cost, "cost is null");
        }

        @Override
        public String type() {
            return "run.interrupted";
        }

        @Override
        public Map<String, Object> data() {
            return Map.of("message", message, "cost", cost.toPlainString());
        }
    }
}
