package io.somastack.agents;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * One run of an agent, as stored: a one-shot run has no conversation.
 *
 * @param budget the most this run may cost (the capsule's {@code max_budget_per_run_usd})
 * @param reason for a run that did not complete, why (see {@code RunEvent.Failed})
 * @param lastSeq the sequence number of its last stored event
 */
public record Run(UUID id, TenantId tenant, Optional<UUID> conversationId, String agent, String version, String digest, RunStatus status,
        String input, Optional<String> answer, Optional<String> reason, Optional<String> message, RunTotals totals, Money budget,
        Optional<UUID> provenanceId, Instant createdAt, Optional<Instant> finishedAt, int lastSeq) {
    public Run {
        requireNonNull(id, "id is null");
        requireNonNull(tenant, "tenant is null");
        requireNonNull(conversationId, "conversationId is null");
        requireNonNull(agent, "agent is null");
        requireNonNull(version, "version is null");
        requireNonNull(digest, "digest is null");
        requireNonNull(status, "status is null");
        requireNonNull(input, "input is null");
        requireNonNull(answer, "answer is null");
        requireNonNull(reason, "reason is null");
        requireNonNull(message, "message is null");
        requireNonNull(totals, "totals is null");
        requireNonNull(budget, "budget is null");
        requireNonNull(provenanceId, "provenanceId is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(finishedAt, "finishedAt is null");
    }

    /** The JSON answer of {@code GET /v1/runs/{id}}. */
    public Map<String, Object> wire() {
        Map<String, Object> wire = new LinkedHashMap<>();
        wire.put("id", id.toString());
        wire.put("object", "agent.run");
        wire.put("agent", agent);
        wire.put("version", version);
        wire.put("digest", digest);
        conversationId.ifPresent(conversation -> wire.put("conversation_id", conversation.toString()));
        wire.put("status", status.wire());
        wire.put("input", input);
        answer.ifPresent(text -> wire.put("answer", text));
        reason.ifPresent(text -> wire.put("reason", text));
        message.ifPresent(text -> wire.put("message", text));
        wire.putAll(totals.wire());
        wire.put("budget", budget.toPlainString());
        provenanceId.ifPresent(provenance -> wire.put("provenance_id", provenance.toString()));
        wire.put("created_at", createdAt.toString());
        finishedAt.ifPresent(at -> wire.put("finished_at", at.toString()));
        wire.put("last_event_id", lastSeq);
        return wire;
    }
}
