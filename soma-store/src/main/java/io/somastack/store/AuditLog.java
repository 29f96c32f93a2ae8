package io.somastack.store;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Json;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;

/**
 * The hash-chained audit log. Entry {@code n} stores {@code hash = SHA-256(prev_hash, seq,
 * at, tenant, actor, action, subject, request id, detail)}, where {@code prev_hash} is entry
 * {@code n-1}'s hash; the {@code audit_head} row holds the last seq and hash. Editing any
 * field breaks that entry's hash, deleting an entry leaves a gap or a head that no longer
 * matches: {@link #verify(Jdbi)} reports the first such entry. A tail deleted together with
 * {@code audit_head} rewound leaves a shorter chain that is consistent: only a signed
 * checkpoint kept outside the database finds that ({@link AuditCheckpoints#verify}). Appends
 * lock the head row, so the chain stays linear across nodes. Thread-safe.
 */
public final class AuditLog {
    /**
     * The append in one statement: it locks and reads the head, chains the entries' hashes (the
     * text {@link #hash} hashes, built and hashed by PostgreSQL: {@code sha256} of its UTF-8), inserts
     * them and moves the head. Waiting for another transaction's head, it chains onto what that one
     * committed (READ COMMITTED re-reads a row it waited for). {@link #verify} checks every hash with
     * {@link #hash}, so the two stay the same text.
     */
    private static final String APPEND = """
            WITH RECURSIVE
            head AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE),
            entry AS (
                SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
                    WITH ORDINALITY AS e(tenant_id, actor, action, subject, request_id, detail, n)),
            chain AS (
                SELECT 0::bigint AS n, seq, NULL::text AS prev_hash, hash FROM head
                UNION ALL
                SELECT e.n, c.seq + 1, c.hash, encode(sha256(convert_to(c.hash || E'\\n' || (c.seq + 1)::text || E'\\n' || ?
                    || E'\\n' || coalesce(e.tenant_id::text, '-') || E'\\n' || e.actor || E'\\n' || e.action || E'\\n' || e.subject
                    || E'\\n' || e.request_id || E'\\n' || e.detail, 'UTF8')), 'hex')
                FROM chain c JOIN entry e ON e.n = c.n + 1),
            entries AS (
                INSERT INTO audit_log (seq, at, tenant_id, actor, action, subject, request_id, detail, prev_hash, hash)
                SELECT c.seq, ?, e.tenant_id, e.actor, e.action, e.subject, e.request_id, e.detail, c.prev_hash, c.hash
                FROM chain c JOIN entry e ON e.n = c.n WHERE c.n > 0),
            moved AS (
                UPDATE audit_head SET seq = last.seq, hash = last.hash
                FROM (SELECT seq, hash FROM chain WHERE n > 0 ORDER BY n DESC LIMIT 1) AS last WHERE audit_head.id = 1)""";

    private final Clock clock;

    public AuditLog(Clock clock) {
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * Appends {@code entries} (at least one) in order inside the caller's transaction, and writes
     * {@code events} (the same transaction's outbox events) in the same statement: a group commit's
     * journal in one round trip. Plain JDBC: this runs for every audited request.
     */
    void appendAll(Handle handle, List<AuditEntry> entries, Optional<Outbox.Insert> events) {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("no audit entries to append");
        }
        Connection connection = handle.getConnection();
        Instant at = clock.now().truncatedTo(ChronoUnit.MICROS);
        int n = entries.size();
        UUID[] tenants = new UUID[n];
        String[] actors = new String[n];
        String[] actions = new String[n];
        String[] subjects = new String[n];
        String[] requests = new String[n];
        String[] details = new String[n];
        for (int i = 0; i < n; i++) {
            AuditEntry entry = entries.get(i);
            tenants[i] = entry.tenantId().map(id -> id.value()).orElse(null);
            actors[i] = entry.actor();
            actions[i] = entry.action();
            subjects[i] = entry.subject();
            requests[i] = entry.requestId();
            details[i] = Json.text(new TreeMap<>(entry.detail()));
        }
        String sql = APPEND + events.map(insert -> ",\nevents AS (" + insert.sql() + ")").orElse("") + "\nSELECT 1";
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setArray(1, connection.createArrayOf("uuid", tenants));
            statement.setArray(2, connection.createArrayOf("text", actors));
            statement.setArray(3, connection.createArrayOf("text", actions));
            statement.setArray(4, connection.createArrayOf("text", subjects));
            statement.setArray(5, connection.createArrayOf("text", requests));
            statement.setArray(6, connection.createArrayOf("text", details));
            statement.setString(7, at.toString());
            statement.setTimestamp(8, Timestamp.from(at));
            if (events.isPresent()) {
                events.get().bind(statement, 9);
            }
            statement.executeQuery().close();
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot append to the audit log: " + e.getMessage(), e);
        }
    }

    /** One entry of the log, as {@link #search} returns it. */
    public record Entry(long seq, Instant at, Optional<UUID> tenant, String actor, String action, String subject, String requestId,
            String detail) {
    }

    /**
     * The newest entries (at most {@code limit}, newest first) whose tenant is {@code tenant}
     * when given and whose action or subject contains {@code text} when given.
     */
    public List<Entry> search(Jdbi jdbi, Optional<UUID> tenant, Optional<String> text, int limit) {
        String sql = "SELECT seq, at, tenant_id, actor, action, subject, request_id, detail FROM audit_log WHERE true"
                + tenant.map(value -> " AND tenant_id = :tenant").orElse("")
                + text.map(value -> " AND (strpos(action, :text) > 0 OR strpos(subject, :text) > 0)").orElse("")
                + " ORDER BY seq DESC LIMIT :limit";
        return jdbi.withHandle(handle -> {
            var query = handle.createQuery(sql).bind("limit", limit);
            tenant.ifPresent(value -> query.bind("tenant", value));
            text.ifPresent(value -> query.bind("text", value));
            return query.map((rs, ctx) -> new Entry(rs.getLong("seq"), rs.getTimestamp("at").toInstant(),
                    Optional.ofNullable(rs.getObject("tenant_id", UUID.class)), rs.getString("actor"), rs.getString("action"),
                    rs.getString("subject"), rs.getString("request_id"), rs.getString("detail"))).list();
        });
    }

    /** Walks the whole chain; streams rows, so it works on logs larger than memory. */
    public Verification verify(Jdbi jdbi) {
        return verify(jdbi, Optional.empty());
    }

    /**
     * As {@link #verify(Jdbi)}, and the chain must also still hold entry {@code anchor.size()}
     * with hash {@code anchor.headHash()}: a tail deleted (with {@code audit_head} rewound) or a
     * chain rewritten since the checkpoint is then found too. The caller checks the
     * checkpoint's signature ({@link AuditCheckpoints#verify}).
     */
    Verification verify(Jdbi jdbi, Optional<AuditCheckpoint> anchor) {
        // One snapshot for the head and the rows: appends committed meanwhile are not half seen.
        return jdbi.inTransaction(TransactionIsolationLevel.REPEATABLE_READ, handle -> {
            Link head = handle.createQuery("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .map((rs, ctx) -> new Link(rs.getLong("seq"), rs.getString("hash"))).one();
            long expectedSeq = 1;
            String previous = Verification.GENESIS;
            Row prior = null;
            try (var rows = handle.createQuery("SELECT * FROM audit_log ORDER BY seq").setFetchSize(1000)
                    .map((rs, ctx) -> new Row(rs.getLong("seq"), rs.getTimestamp("at").toInstant(),
                            Optional.ofNullable((UUID) rs.getObject("tenant_id")), rs.getString("actor"), rs.getString("action"),
                            rs.getString("subject"), rs.getString("request_id"), rs.getString("detail"),
                            rs.getString("prev_hash"), rs.getString("hash")))
                    .stream()) {
                for (Row row : (Iterable<Row>) rows::iterator) {
                    if (row.seq() != expectedSeq) {
                        return Verification.broken(expectedSeq - 1, expectedSeq, row.seq() == expectedSeq + 1
                                ? "entry %d is missing".formatted(expectedSeq)
                                : "entries %d to %d are missing".formatted(expectedSeq, row.seq() - 1));
                    }
                    String own = row.hashWith(row.prevHash());
                    if (!row.prevHash().equals(previous)) {
                        return brokenLink(prior, row, previous, own);
                    }
                    if (!own.equals(row.hash())) {
                        return Verification.broken(expectedSeq - 1, row.seq(),
                                "entry %d was altered: its content no longer matches its hash".formatted(row.seq()));
                    }
                    if (anchor.isPresent() && row.seq() == anchor.get().size() && !row.hash().equals(anchor.get().headHash())) {
                        AuditCheckpoint checkpoint = anchor.get();
                        return Verification.broken(row.seq() - 1, row.seq(), ("entry %d does not match the checkpoint of %s: it hashes to %s, "
                                + "the checkpoint signed %s. Entries 1 to %d were rewritten since (at least one altered and the chain "
                                + "after it hashed again); an earlier checkpoint narrows down where").formatted(row.seq(),
                                checkpoint.timestamp(), abbreviate(row.hash()), abbreviate(checkpoint.headHash()), row.seq()));
                    }
                    previous = row.hash();
                    prior = row;
                    expectedSeq++;
                }
            }
            long last = expectedSeq - 1;
            if (anchor.isPresent() && anchor.get().size() > last) {
                AuditCheckpoint checkpoint = anchor.get();
                String deleted = checkpoint.size() == last + 1 ? "entry %d was deleted".formatted(last + 1)
                        : "entries %d to %d were deleted".formatted(last + 1, checkpoint.size());
                return Verification.broken(last, last + 1, "the chain ends at entry %d but the checkpoint of %s signed %d entries: %s%s"
                        .formatted(last, checkpoint.timestamp(), checkpoint.size(), deleted,
                                head.seq() == last ? " and audit_head rewound to hide it" : ""));
            }
            if (head.seq() > last) {
                return Verification.broken(last, last + 1,
                        "the chain ends at entry %d but the head says %d: entries were deleted".formatted(last, head.seq()));
            }
            if (head.seq() < last) {
                return Verification.broken(head.seq(), head.seq() + 1,
                        "the chain goes on to entry %d but the head says %d: audit_head was rewound".formatted(last, head.seq()));
            }
            if (!head.hash().equals(previous) && last == 0) {
                return Verification.broken(0, 1, "the log is empty but audit_head's hash is not the genesis hash: the head was edited");
            }
            if (!head.hash().equals(previous)) {
                // The head is entry last's successor: it recorded the hash the entry had when it was appended.
                return Verification.broken(last - 1, last, ("entry %d was altered and its hash recomputed, or audit_head was edited: the "
                        + "head records entry %d's hash as %s, but the entry hashes to %s").formatted(last, last, abbreviate(head.hash()),
                                abbreviate(previous)));
            }
            String against = anchor.map(checkpoint -> ", including the %d of the checkpoint of %s".formatted(checkpoint.size(),
                    checkpoint.timestamp())).orElse("");
            return new Verification(true, last, Optional.empty(), "all %d entries intact%s".formatted(last, against));
        });
    }

    /**
     * Entry {@code row} does not link to the entry before it ({@code prior}, whose hash is
     * {@code priorHash}). Names the entry that was provably changed: a link (prev_hash) edited
     * while the entry's own hash still commits to the real predecessor names that entry; an
     * entry whose content was edited and its hash recomputed names that entry, since its
     * successor still records the original hash.
     */
    private static Verification brokenLink(Row prior, Row row, String priorHash, String own) {
        long seq = row.seq();
        if (row.hashWith(priorHash).equals(row.hash())) {
            return Verification.broken(seq - 1, seq, ("entry %d's link (prev_hash) was altered: its own hash still commits to entry %d's "
                    + "real hash").formatted(seq, seq - 1));
        }
        if (prior == null) {
            return Verification.broken(0, seq, "entry %d does not start from the genesis hash: it was altered".formatted(seq));
        }
        long altered = prior.seq();
        if (own.equals(row.hash())) {
            return Verification.broken(altered - 1, altered, ("entry %d was altered and its hash recomputed: entry %d recorded its hash as "
                    + "%s, but its content now hashes to %s").formatted(altered, seq, abbreviate(row.prevHash()), abbreviate(priorHash)));
        }
        return Verification.broken(altered - 1, altered, ("entry %d no longer matches the chain: entry %d recorded its hash as %s, but its "
                + "content hashes to %s. Entry %d was altered as well (its hash matches neither its content nor entry %d), so either "
                + "entry may have been edited first; entry %d is the first whose content no longer matches the chain")
                .formatted(altered, seq, abbreviate(row.prevHash()), abbreviate(priorHash), seq, altered, altered));
    }

    private static String abbreviate(String hash) {
        return hash.length() > 16 ? hash.substring(0, 16) + "…" : hash;
    }

    static String hash(String previous, long seq, Instant at, UUID tenant, String actor, String action, String subject,
            String requestId, String detail) {
        String text = String.join("\n", previous, Long.toString(seq), at.truncatedTo(ChronoUnit.MICROS).toString(),
                tenant == null ? "-" : tenant.toString(), actor, action, subject, requestId, detail);
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The outcome of {@link #verify(Jdbi)}.
     *
     * @param intact whether every entry is present and unaltered
     * @param checked entries verified before the first problem
     * @param firstBad the first entry that is missing or altered
     */
    public record Verification(boolean intact, long checked, Optional<Long> firstBad, String message) {
        static final String GENESIS = "0".repeat(64);

        static Verification broken(long checked, long firstBad, String message) {
            return new Verification(false, checked, Optional.of(firstBad), message);
        }
    }

    private record Link(long seq, String hash) {
    }

    private record Row(long seq, Instant at, Optional<UUID> tenant, String actor, String action, String subject,
            String requestId, String detail, String prevHash, String hash) {
        /** What this entry's hash is if the entry before it had hash {@code previous}. */
        String hashWith(String previous) {
            return AuditLog.hash(previous, seq, at, tenant.orElse(null), actor, action, subject, requestId, detail);
        }
    }
}
