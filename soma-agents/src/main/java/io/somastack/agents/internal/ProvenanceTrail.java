package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.AnswerProvenance;
import io.somastack.kernel.Money;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Where a run's answer came from, collected as the run goes: the capsule, every model call,
 * tool call, recall, memory write and policy decision. {@link #statement} makes it an in-toto Statement whose
 * subject is the answer's SHA-256. Used by the run's thread only.
 */
public final class ProvenanceTrail {
    public static final String STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
    public static final String PREDICATE_TYPE = AnswerProvenance.RUN_PREDICATE_TYPE;

    private final UUID runId;
    private final String tenant;
    private final Map<String, Object> capsule;
    private final Instant startedAt;
    private final List<Map<String, Object>> modelCalls = new ArrayList<>();
    private final List<Map<String, Object>> toolCalls = new ArrayList<>();
    private final List<Map<String, Object>> recalls = new ArrayList<>();
    private final List<Map<String, Object>> memoryWrites = new ArrayList<>();
    private final List<Map<String, Object>> decisions = new ArrayList<>();

    public ProvenanceTrail(UUID runId, String tenant, String name, String version, String digest, Instant startedAt) {
        this.runId = requireNonNull(runId, "runId is null");
        this.tenant = requireNonNull(tenant, "tenant is null");
        this.capsule = Map.of("name", name, "version", version, "digest", digest);
        this.startedAt = requireNonNull(startedAt, "startedAt is null");
    }

    public void decision(UUID decisionId, String kind, String subject, String outcome) {
        decisions.add(Map.of("decision_id", decisionId.toString(), "kind", kind, "subject", subject, "outcome", outcome));
    }

    public void recall(UUID recallId, List<UUID> revisionIds) {
        recalls.add(Map.of("recall_id", recallId.toString(), "revision_ids", revisionIds.stream().map(UUID::toString).toList()));
    }

    /** A fact the run stored (its {@code remember} tool): the memory and the exact revision, in scope {@code kind:id}. */
    public void memoryWrite(String callId, UUID memoryId, UUID revisionId, String scope, String outcome) {
        memoryWrites.add(Map.of("call_id", callId, "memory_id", memoryId.toString(), "revision_id", revisionId.toString(), "scope", scope,
                "outcome", outcome));
    }

    public void modelCall(UUID ledgerId, String model, String provider, String upstreamModel, long inputTokens, long outputTokens, Money cost) {
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("ledger_id", ledgerId.toString());
        call.put("model", model);
        call.put("provider", provider);
        call.put("upstream_model", upstreamModel);
        call.put("input_tokens", inputTokens);
        call.put("output_tokens", outputTokens);
        call.put("cost", cost.toPlainString());
        modelCalls.add(call);
    }

    public void toolCall(UUID callId, String name, String executor, String argumentsSha256, Optional<String> resultSha256, String outcome,
            Optional<UUID> decisionId, Optional<UUID> ledgerId) {
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("call_id", callId.toString());
        call.put("name", name);
        call.put("executor", executor);
        call.put("arguments_sha256", argumentsSha256);
        resultSha256.ifPresent(sha -> call.put("result_sha256", sha));
        call.put("outcome", outcome);
        call.put("decision_ids", decisionId.map(id -> List.of(id.toString())).orElse(List.of()));
        ledgerId.ifPresent(id -> call.put("ledger_id", id.toString()));
        toolCalls.add(call);
        decisionId.ifPresent(id -> decisions.add(Map.of("decision_id", id.toString(), "kind", "tool_call", "subject", name,
                "outcome", outcome.equals("denied") ? "denied" : "allowed")));
    }

    /** The in-toto Statement of the answer whose SHA-256 (hex) is {@code answerSha256}. */
    public Map<String, Object> statement(String answerSha256, Instant finishedAt) {
        Map<String, Object> predicate = new LinkedHashMap<>();
        predicate.put("run_id", runId.toString());
        predicate.put("tenant_id", tenant);
        predicate.put("capsule", capsule);
        predicate.put("model_calls", List.copyOf(modelCalls));
        predicate.put("tool_calls", List.copyOf(toolCalls));
        predicate.put("recalls", List.copyOf(recalls));
        predicate.put("memory_writes", List.copyOf(memoryWrites));
        predicate.put("policy_decisions", List.copyOf(decisions));
        predicate.put("answer_sha256", answerSha256);
        predicate.put("started_at", startedAt.toString());
        predicate.put("finished_at", finishedAt.toString());
        Map<String, Object> statement = new LinkedHashMap<>();
        statement.put("_type", STATEMENT_TYPE);
        statement.put("subject", List.of(Map.of("name", "run/" + runId + "/answer", "digest", Map.of("sha256", answerSha256))));
        statement.put("predicateType", PREDICATE_TYPE);
        statement.put("predicate", predicate);
        return statement;
    }
}
