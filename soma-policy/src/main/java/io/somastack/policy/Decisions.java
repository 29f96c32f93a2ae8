package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.OutboxEvent;
import io.somastack.store.Tx;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * The record of policy decisions. {@link #record} writes a decision in one durable
 * transaction with its audit log entry (action {@code policy.decision}) and its outbox
 * event ({@code io.somastack.policy.decision}), so a decision answered to a caller is always
 * on record, and the three always agree. An admission that guards a write (a publish, an
 * install) is written in that write's transaction, and recorded as {@code refused} with the
 * problem the client got when the write is refused after the policies admitted (see
 * {@link PolicyEngine#admitThen}). Thread-safe.
 */
public final class Decisions {
    public static final String EVENT_TYPE = "io.somastack.policy.decision";

    private final Jdbi jdbi;
    private final GroupCommit commit;

    public Decisions(Jdbi jdbi, GroupCommit commit) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
    }

    void record(DecisionRecord decision) {
        commit.execute(tx -> {
            write(tx, decision);
            return null;
        });
    }

    /**
     * Records {@code decision} in the transaction of {@code then}, which runs after it: the
     * decision is on record exactly when {@code then} commits. A {@link io.somastack.kernel.SomaException} from
     * {@code then} rolls both back and is rethrown as it is.
     */
    <T> T record(DecisionRecord decision, Function<Tx, T> then) {
        return commit.execute(tx -> {
            write(tx, decision);
            return then.apply(tx);
        });
    }

    /** Records {@code decision} in the caller's transaction {@code tx}. */
    void record(Tx tx, DecisionRecord decision) {
        write(tx, decision);
    }

    private static void write(Tx tx, DecisionRecord decision) {
        Map<String, Object> facts = facts(decision);
        tx.handle().createUpdate("""
                INSERT INTO policy_decisions (id, tenant_id, kind, outcome, subject, capsule_name, capsule_version, capsule_digest,
                    policy_name, policy_version, expression, message, refusal_code, refusal_detail, input_digest, evaluated, actor,
                    request_id, decided_at)
                VALUES (:id, :tenant, :kind, :outcome, :subject, :capsuleName, :capsuleVersion, :capsuleDigest, :policyName, :policyVersion,
                    :expression, :message, :refusalCode, :refusalDetail, :inputDigest, CAST(:evaluated AS jsonb), :actor, :requestId,
                    :decidedAt)""")
                .bind("id", decision.id()).bind("tenant", decision.tenant().value()).bind("kind", decision.kind().wireName())
                .bind("outcome", decision.outcome()).bind("subject", decision.subject())
                .bind("capsuleName", decision.kind() == PolicyKind.ADMISSION || !decision.subject().equals("runtime") ? decision.subject() : null)
                .bind("capsuleVersion", decision.capsuleVersion().orElse(null)).bind("capsuleDigest", decision.capsuleDigest().orElse(null))
                .bind("policyName", decision.violation().map(Violation::policyName).orElse(null))
                .bind("policyVersion", decision.violation().map(Violation::policyVersion).orElse(null))
                .bind("expression", decision.violation().map(Violation::expression).orElse(null))
                .bind("message", decision.violation().map(Violation::message).orElse(null))
                .bind("refusalCode", decision.refusal().map(refusal -> refusal.code().name()).orElse(null))
                .bind("refusalDetail", decision.refusal().map(DecisionRecord.Refusal::detail).orElse(null))
                .bind("inputDigest", decision.inputDigest()).bind("evaluated", Json.text(decision.evaluated()))
                .bind("actor", decision.actor()).bind("requestId", decision.requestId()).bind("decidedAt", Timestamp.from(decision.decidedAt()))
                .execute();
        tx.audit(new AuditEntry(Optional.of(decision.tenant()), decision.actor(), "policy.decision", decision.subject(), decision.requestId(), facts));
        tx.publish(new OutboxEvent(EVENT_TYPE, decision.id().toString(), Optional.of(decision.tenant()), facts));
    }

    /** The facts of a decision as the audit entry and the event carry them (and the API shows them). */
    public static Map<String, Object> facts(DecisionRecord decision) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("decision_id", decision.id().toString());
        facts.put("kind", decision.kind().wireName());
        facts.put("outcome", decision.outcome());
        facts.put("subject", decision.subject());
        decision.capsuleVersion().ifPresent(version -> facts.put("capsule_version", version));
        decision.capsuleDigest().ifPresent(digest -> facts.put("capsule_digest", digest));
        decision.violation().ifPresent(violation -> {
            facts.put("policy", violation.policyName());
            facts.put("policy_version", violation.policyVersion());
            facts.put("expression", violation.expression());
            facts.put("message", violation.message());
        });
        decision.refusal().ifPresent(refusal -> {
            Map<String, Object> problem = new LinkedHashMap<>();
            problem.put("type", refusal.code().type());
            problem.put("status", refusal.code().status());
            problem.put("detail", refusal.detail());
            facts.put("refusal", problem);
        });
        facts.put("input_digest", decision.inputDigest());
        facts.put("evaluated", decision.evaluated());
        facts.put("actor", decision.actor());
        facts.put("decided_at", decision.decidedAt().toString());
        return facts;
    }

    /** Decisions of {@code tenant} matching {@code query}, newest first. */
    public List<DecisionRecord> find(TenantId tenant, DecisionQuery query) {
        StringBuilder sql = new StringBuilder("SELECT * FROM policy_decisions WHERE tenant_id = :tenant");
        query.capsule().ifPresent(capsule -> sql.append(" AND subject = :capsule"));
        query.outcome().ifPresent(outcome -> sql.append(" AND outcome = :outcome"));
        query.from().ifPresent(from -> sql.append(" AND decided_at >= :from"));
        query.to().ifPresent(to -> sql.append(" AND decided_at < :to"));
        sql.append(" ORDER BY decided_at DESC, id DESC LIMIT :limit");
        return jdbi.withHandle(handle -> {
            Query statement = handle.createQuery(sql.toString()).bind("tenant", tenant.value()).bind("limit", query.limit());
            query.capsule().ifPresent(capsule -> statement.bind("capsule", capsule));
            query.outcome().ifPresent(outcome -> statement.bind("outcome", outcome));
            query.from().ifPresent(from -> statement.bind("from", Timestamp.from(from)));
            query.to().ifPresent(to -> statement.bind("to", Timestamp.from(to)));
            return statement.map(Decisions::row).list();
        });
    }

    private static DecisionRecord row(ResultSet rs, StatementContext context) throws SQLException {
        Optional<Violation> violation = Optional.ofNullable(rs.getString("policy_name"))
                .map(name -> new Violation(name, intColumn(rs, "policy_version"), stringColumn(rs, "expression"), stringColumn(rs, "message")));
        Optional<DecisionRecord.Refusal> refusal = Optional.ofNullable(rs.getString("refusal_code"))
                .map(code -> new DecisionRecord.Refusal(ErrorCode.valueOf(code), stringColumn(rs, "refusal_detail")));
        List<String> evaluated = new ArrayList<>();
        Json.tree(rs.getString("evaluated").getBytes(StandardCharsets.UTF_8)).forEach(node -> evaluated.add(node.asString()));
        return new DecisionRecord((UUID) rs.getObject("id"), new TenantId((UUID) rs.getObject("tenant_id")), PolicyKind.parse(rs.getString("kind")),
                rs.getString("outcome"), rs.getString("subject"), Optional.ofNullable(rs.getString("capsule_version")),
                Optional.ofNullable(rs.getString("capsule_digest")), violation, refusal, rs.getString("input_digest"), evaluated, rs.getString("actor"),
                rs.getString("request_id"), rs.getTimestamp("decided_at").toInstant());
    }

    private static int intColumn(ResultSet rs, String column) {
        try {
            return rs.getInt(column);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String stringColumn(ResultSet rs, String column) {
        try {
            return rs.getString(column);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
