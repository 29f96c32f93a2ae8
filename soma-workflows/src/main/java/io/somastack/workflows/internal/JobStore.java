package io.somastack.workflows.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.metering.Reservation;
import io.somastack.store.Tx;
import io.somastack.workflows.Team;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.databind.JsonNode;

/** The PostgreSQL records of jobs, their nodes and the runs the nodes started. Thread-safe. */
public final class JobStore {
    private final Jdbi jdbi;

    public JobStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** A job as stored. */
    public record StoredJob(UUID id, TenantId tenant, UUID keyId, Team team, JsonNode input, String status, Optional<String> reason,
            String requestId, Reservation reservation, Instant createdAt, Optional<Instant> endedAt, int lastSeq,
            Optional<String> provenance) {
    }

    /** A node as stored. */
    public record StoredNode(String node, String status, Optional<String> output, Optional<String> reason, Optional<JsonNode> approval,
            Reservation reservation, Optional<Instant> startedAt, Optional<Instant> endedAt) {
    }

    /** A run a node started. */
    public record NodeRun(String node, int item, int attempt, UUID runId, int forwardedSeq, boolean billed) {
    }

    public void insertJob(Tx tx, UUID id, TenantId tenant, UUID keyId, Team team, JsonNode input, String requestId, Reservation job,
            Map<String, Reservation> nodes, Instant now) {
        tx.handle().createUpdate("""
                INSERT INTO workflow_jobs (id, tenant_id, key_id, team, input, status, request_id, reservation_id, reservation_scopes,
                    reservation_period, reservation_amount, created_at)
                VALUES (:id, :tenant, :key, :team, :input, 'running', :request, :reservation, :scopes, :period, :amount, :at)""")
                .bind("id", id).bind("tenant", tenant.value()).bind("key", keyId).bind("team", Json.text(team)).bind("input", Json.text(input))
                .bind("request", requestId).bind("reservation", job.id()).bind("scopes", job.scopes().toArray(String[]::new))
                .bind("period", job.period()).bind("amount", job.amount().amount()).bind("at", Timestamp.from(now)).execute();
        for (Map.Entry<String, Reservation> node : nodes.entrySet()) {
            tx.handle().createUpdate("""
                    INSERT INTO workflow_nodes (job_id, node, tenant_id, status, reservation_id, reservation_amount)
                    VALUES (:job, :node, :tenant, 'pending', :reservation, :amount)""")
                    .bind("job", id).bind("node", node.getKey()).bind("tenant", tenant.value()).bind("reservation", node.getValue().id())
                    .bind("amount", node.getValue().amount().amount()).execute();
        }
    }

    public Optional<StoredJob> job(TenantId tenant, UUID id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM workflow_jobs WHERE tenant_id = :tenant AND id = :id")
                .bind("tenant", tenant.value()).bind("id", id).map((rs, ctx) -> readJob(rs)).findOne());
    }

    /** A job by id alone: for the engine's own steps, which carry no tenant. */
    public StoredJob job(UUID id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM workflow_jobs WHERE id = :id").bind("id", id)
                .map((rs, ctx) -> readJob(rs)).one());
    }

    /** The ids of jobs not yet ended (resumed at start-up). */
    public List<UUID> running() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT id FROM workflow_jobs WHERE status = 'running' ORDER BY created_at")
                .mapTo(UUID.class).list());
    }

    private static StoredJob readJob(java.sql.ResultSet rs) throws java.sql.SQLException {
        TenantId tenant = new TenantId((UUID) rs.getObject("tenant_id"));
        Reservation reservation = new Reservation((UUID) rs.getObject("reservation_id"), tenant,
                Arrays.asList((String[]) rs.getArray("reservation_scopes").getArray()), rs.getObject("reservation_period", LocalDate.class),
                Money.of(rs.getBigDecimal("reservation_amount")));
        return new StoredJob((UUID) rs.getObject("id"), tenant, (UUID) rs.getObject("key_id"),
                Json.read(rs.getString("team").getBytes(java.nio.charset.StandardCharsets.UTF_8), Team.class),
                Json.mapper().readTree(rs.getString("input")), rs.getString("status"), Optional.ofNullable(rs.getString("reason")),
                rs.getString("request_id"), reservation, rs.getTimestamp("created_at").toInstant(),
                Optional.ofNullable(rs.getTimestamp("ended_at")).map(Timestamp::toInstant), rs.getInt("last_seq"),
                Optional.ofNullable(rs.getString("provenance")));
    }

    public Map<String, StoredNode> nodes(StoredJob job) {
        Map<String, StoredNode> nodes = new LinkedHashMap<>();
        jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM workflow_nodes WHERE tenant_id = :tenant AND job_id = :job")
                .bind("tenant", job.tenant().value()).bind("job", job.id())
                .map((rs, ctx) -> new StoredNode(rs.getString("node"), rs.getString("status"), Optional.ofNullable(rs.getString("output")),
                        Optional.ofNullable(rs.getString("reason")), Optional.ofNullable(rs.getString("approval")).map(Json.mapper()::readTree),
                        new Reservation((UUID) rs.getObject("reservation_id"), job.tenant(), job.reservation().scopes(),
                                job.reservation().period(), Money.of(rs.getBigDecimal("reservation_amount"))),
                        Optional.ofNullable(rs.getTimestamp("started_at")).map(Timestamp::toInstant),
                        Optional.ofNullable(rs.getTimestamp("ended_at")).map(Timestamp::toInstant)))
                .list()).forEach(node -> nodes.put(node.node(), node));
        return nodes;
    }

    /** The outputs of the job's completed nodes. */
    public Map<String, String> outputs(StoredJob job) {
        Map<String, String> outputs = new LinkedHashMap<>();
        nodes(job).values().forEach(node -> node.output().ifPresent(output -> outputs.put(node.node(), output)));
        return outputs;
    }

    /** Moves a node from one of {@code from} to {@code to}; false when it was in none of them (another step moved it). */
    public boolean move(Tx tx, UUID jobId, String node, List<String> from, String to, Optional<String> output, Optional<String> reason,
            Instant now) {
        String time = to.equals("running") || to.equals("waiting") ? "started_at = COALESCE(started_at, :at)" : "ended_at = :at";
        return tx.handle().createUpdate("""
                UPDATE workflow_nodes SET status = :to, output = COALESCE(:output, output), reason = COALESCE(:reason, reason), %s
                WHERE job_id = :job AND node = :node AND status = ANY(:from)""".formatted(time))
                .bind("to", to).bind("output", output.orElse(null)).bind("reason", reason.orElse(null)).bind("at", Timestamp.from(now))
                .bind("job", jobId).bind("node", node).bind("from", from.toArray(String[]::new)).execute() == 1;
    }

    public void recordApproval(Tx tx, UUID jobId, String node, boolean approve, String comment, String by, Instant now) {
        tx.handle().createUpdate("UPDATE workflow_nodes SET approval = CAST(:approval AS JSONB) WHERE job_id = :job AND node = :node")
                .bind("approval", Json.text(Map.of("approve", approve, "comment", comment, "by", by, "at", now.toString())))
                .bind("job", jobId).bind("node", node).execute();
    }

    public boolean endJob(Tx tx, UUID jobId, String status, Optional<String> reason, Optional<String> provenance, Instant now) {
        return tx.handle().createUpdate("""
                UPDATE workflow_jobs SET status = :status, reason = :reason, provenance = :provenance, ended_at = :at
                WHERE id = :job AND status = 'running'""")
                .bind("status", status).bind("reason", reason.orElse(null)).bind("provenance", provenance.orElse(null))
                .bind("at", Timestamp.from(now)).bind("job", jobId).execute() == 1;
    }

    public List<NodeRun> runs(UUID jobId) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT node, item, attempt, run_id, forwarded_seq, billed FROM workflow_node_runs WHERE job_id = :job
                ORDER BY node, item, attempt""").bind("job", jobId)
                .map((rs, ctx) -> new NodeRun(rs.getString("node"), rs.getInt("item"), rs.getInt("attempt"), (UUID) rs.getObject("run_id"),
                        rs.getInt("forwarded_seq"), rs.getBoolean("billed"))).list());
    }

    /** The latest attempt of one item of a node, if any. */
    public Optional<NodeRun> latest(UUID jobId, String node, int item) {
        return runs(jobId).stream().filter(run -> run.node().equals(node) && run.item() == item).reduce((first, second) -> second);
    }

    /** Records attempt {@code attempt} of an item (a concurrent twin keeps the first). */
    public void insertRun(Tx tx, UUID jobId, TenantId tenant, String node, int item, int attempt, UUID runId, Instant now) {
        tx.handle().createUpdate("""
                INSERT INTO workflow_node_runs (job_id, node, item, attempt, tenant_id, run_id, created_at)
                VALUES (:job, :node, :item, :attempt, :tenant, :run, :at) ON CONFLICT DO NOTHING""")
                .bind("job", jobId).bind("node", node).bind("item", item).bind("attempt", attempt).bind("tenant", tenant.value())
                .bind("run", runId).bind("at", Timestamp.from(now)).execute();
    }

    public void forwarded(Tx tx, UUID runId, int seq) {
        tx.handle().createUpdate("UPDATE workflow_node_runs SET forwarded_seq = GREATEST(forwarded_seq, :seq) WHERE run_id = :run")
                .bind("seq", seq).bind("run", runId).execute();
    }

    /** Marks a run billed; false when it already was (so its job-minutes are written once). */
    public boolean markBilled(Tx tx, UUID runId) {
        return tx.handle().createUpdate("UPDATE workflow_node_runs SET billed = true WHERE run_id = :run AND NOT billed")
                .bind("run", runId).execute() == 1;
    }
}
