package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.Run;
import io.somastack.agents.RunStatus;
import io.somastack.agents.RunTotals;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.metering.Reservation;
import io.somastack.store.Tx;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;

/** Runs in PostgreSQL; every read is filtered by tenant except the sweeper's. Thread-safe. */
public final class RunStore {
    private final Jdbi jdbi;

    public RunStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** What a new run row holds. */
    public record NewRun(UUID id, TenantId tenant, Optional<UUID> conversationId, String agent, String version, String digest, String input,
            Money budget, Reservation reservation, UUID keyId, String actor, String requestId, String node, Instant at,
            Optional<String> idempotencyKey, Optional<String> fingerprint, Optional<UUID> continues) {
    }

    /** The run a run continues, when its client named one. */
    public Optional<UUID> continues(TenantId tenant, UUID id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT continues_run FROM agent_runs WHERE tenant_id = :tenant AND id = :id")
                .bind("tenant", tenant.value()).bind("id", id).map((rs, ctx) -> Optional.ofNullable((UUID) rs.getObject("continues_run")))
                .findOne().flatMap(continued -> continued));
    }

    /** The run a tenant started with an {@code Idempotency-Key}, and the fingerprint of the request that started it. */
    public record Keyed(UUID runId, String fingerprint) {
    }

    public Optional<Keyed> findByKey(TenantId tenant, String key) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT id, request_fingerprint FROM agent_runs WHERE tenant_id = :tenant AND idempotency_key = :key""")
                .bind("tenant", tenant.value()).bind("key", key)
                .map((rs, ctx) -> new Keyed((UUID) rs.getObject("id"), rs.getString("request_fingerprint"))).findOne());
    }

    public void insert(Tx tx, NewRun run) {
        tx.handle().createUpdate("""
                INSERT INTO agent_runs (id, tenant_id, conversation_id, agent, version, digest, status, input, budget, reservation_id,
                    reservation_scopes, reservation_period, reservation_amount, key_id, actor, request_id, node, heartbeat_at, created_at, idempotency_key,
                    request_fingerprint, continues_run)
                VALUES (:id, :tenant, :conversation, :agent, :version, :digest, 'running', :input, :budget, :reservation, :scopes, :period,
                    :amount, :key, :actor, :request, :node, :at, :at, :idempotencyKey, :fingerprint, :continues)""")
                .bind("id", run.id()).bind("tenant", run.tenant().value()).bind("conversation", run.conversationId().orElse(null))
                .bind("agent", run.agent()).bind("version", run.version()).bind("digest", run.digest()).bind("input", run.input())
                .bind("budget", run.budget().amount()).bind("reservation", run.reservation().id())
                .bind("scopes", run.reservation().scopes().toArray(String[]::new)).bind("period", run.reservation().period())
                .bind("amount", run.reservation().amount().amount()).bind("key", run.keyId()).bind("actor", run.actor())
                .bind("request", run.requestId()).bind("node", run.node()).bind("at", Timestamp.from(run.at()))
                .bind("idempotencyKey", run.idempotencyKey().orElse(null)).bind("fingerprint", run.fingerprint().orElse(null))
                .bind("continues", run.continues().orElse(null)).execute();
    }

    /**
     * Ends a running run; false when it had already ended (the sweeper got there first), so a run
     * is finished, and its reservation settled, once.
     */
    public boolean finish(Tx tx, UUID id, RunStatus status, Optional<String> answer, Optional<String> reason, Optional<String> message,
            RunTotals totals, Optional<UUID> provenanceId, Instant at) {
        return tx.handle().createUpdate("""
                UPDATE agent_runs SET status = :status, answer = :answer, reason = :reason, message = :message, model_calls = :steps,
                    tool_calls = :tools, input_tokens = :input, output_tokens = :output, cost = :cost, provenance_id = :provenance,
                    finished_at = :at
                WHERE id = :id AND status = 'running'""")
                .bind("status", status.wire()).bind("answer", answer.orElse(null)).bind("reason", reason.orElse(null))
                .bind("message", message.orElse(null)).bind("steps", totals.steps()).bind("tools", totals.toolCalls())
                .bind("input", totals.inputTokens()).bind("output", totals.outputTokens()).bind("cost", totals.cost().amount())
                .bind("provenance", provenanceId.orElse(null)).bind("at", Timestamp.from(at)).bind("id", id).execute() == 1;
    }

    public Optional<Run> find(TenantId tenant, UUID id) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT r.*, (SELECT COALESCE(max(seq), 0) FROM agent_run_events e WHERE e.run_id = r.id) AS last_seq
                FROM agent_runs r WHERE r.tenant_id = :tenant AND r.id = :id""")
                .bind("tenant", tenant.value()).bind("id", id).map((rs, ctx) -> run(rs)).findOne());
    }

    /**
     * Stores a request to cancel the tenant's running run (the first request's time and author
     * stay); its trigger notifies every node at commit. False when the run is not running.
     */
    public boolean requestCancel(Tx tx, TenantId tenant, UUID id, String by, Instant at) {
        return tx.handle().createUpdate("""
                UPDATE agent_runs SET cancel_requested_at = COALESCE(cancel_requested_at, :at),
                    cancel_requested_by = COALESCE(cancel_requested_by, :by)
                WHERE tenant_id = :tenant AND id = :id AND status = 'running'""")
                .bind("at", Timestamp.from(at)).bind("by", by).bind("tenant", tenant.value()).bind("id", id).execute() == 1;
    }

    /** Of {@code ids}, the running runs someone asked to cancel, with who asked. */
    public Map<UUID, String> cancelRequests(Collection<UUID> ids) {
        if (ids.isEmpty()) {
            return Map.of();
        }
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT id, cancel_requested_by FROM agent_runs
                WHERE id = ANY(:ids) AND status = 'running' AND cancel_requested_at IS NOT NULL""")
                .bind("ids", ids.toArray(UUID[]::new))
                .map((rs, ctx) -> Map.entry((UUID) rs.getObject("id"), rs.getString("cancel_requested_by"))).list().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
    }

    /** Marks the runs of this node as alive. */
    public void heartbeat(Collection<UUID> ids, Instant at) {
        if (ids.isEmpty()) {
            return;
        }
        jdbi.useHandle(handle -> handle.createUpdate("UPDATE agent_runs SET heartbeat_at = :at WHERE id = ANY(:ids) AND status = 'running'")
                .bind("at", Timestamp.from(at)).bind("ids", ids.toArray(UUID[]::new)).execute());
    }

    /** A running run whose node stopped beating, with what the sweeper needs to settle it. */
    public record Stale(UUID id, TenantId tenant, String agent, String requestId, Reservation reservation) {
    }

    public List<Stale> stale(Instant before, int limit) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT id, tenant_id, agent, reservation_id, reservation_scopes, reservation_period, reservation_amount
                FROM agent_runs WHERE status = 'running' AND heartbeat_at < :before ORDER BY heartbeat_at LIMIT :limit""")
                .bind("before", Timestamp.from(before)).bind("limit", limit)
                .map((rs, ctx) -> {
                    TenantId tenant = new TenantId((UUID) rs.getObject("tenant_id"));
                    UUID id = (UUID) rs.getObject("id");
                    return new Stale(id, tenant, rs.getString("agent"), id.toString(), new Reservation((UUID) rs.getObject("reservation_id"),
                            tenant, strings(rs.getArray("reservation_scopes")), rs.getObject("reservation_period", LocalDate.class),
                            Money.of(rs.getBigDecimal("reservation_amount"))));
                }).list());
    }

    /** The totals of a run from the ledger rows its calls wrote (request id = run id). */
    public RunTotals ledgerTotals(Tx tx, TenantId tenant, UUID runId) {
        return tx.handle().createQuery("""
                SELECT count(*) FILTER (WHERE meter IS DISTINCT FROM 'tool_call') AS models, count(*) FILTER (WHERE meter = 'tool_call') AS tools,
                    COALESCE(sum(input_tokens), 0) AS input, COALESCE(sum(output_tokens), 0) AS output, COALESCE(sum(cost), 0) AS cost
                FROM usage_ledger WHERE tenant_id = :tenant AND request_id = :request""")
                .bind("tenant", tenant.value()).bind("request", runId.toString())
                .map((rs, ctx) -> new RunTotals(rs.getInt("models"), rs.getInt("tools"), rs.getLong("input"), rs.getLong("output"),
                        Money.of(rs.getBigDecimal("cost"))))
                .one();
    }

    private static List<String> strings(Array array) throws SQLException {
        return List.of((String[]) array.getArray());
    }

    private static Run run(ResultSet rs) throws SQLException {
        return new Run((UUID) rs.getObject("id"), new TenantId((UUID) rs.getObject("tenant_id")),
                Optional.ofNullable((UUID) rs.getObject("conversation_id")), rs.getString("agent"), rs.getString("version"), rs.getString("digest"),
                RunStatus.parse(rs.getString("status")), rs.getString("input"), Optional.ofNullable(rs.getString("answer")),
                Optional.ofNullable(rs.getString("reason")), Optional.ofNullable(rs.getString("message")),
                new RunTotals(rs.getInt("model_calls"), rs.getInt("tool_calls"), rs.getLong("input_tokens"), rs.getLong("output_tokens"),
                        Money.of(rs.getBigDecimal("cost"))),
                Money.of(rs.getBigDecimal("budget")), Optional.ofNullable((UUID) rs.getObject("provenance_id")),
                rs.getTimestamp("created_at").toInstant(), Optional.ofNullable(rs.getTimestamp("finished_at")).map(Timestamp::toInstant),
                rs.getInt("last_seq"));
    }
}
