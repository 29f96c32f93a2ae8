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

/**
 * The hash-chained audit log. Entry {@code n} stores {@code hash = SHA-256(prev_hash, seq,
 * at, tenant, actor, action, subject, request id, detail)}, where {@code prev_hash} is entry
 * {@code n-1}'s hash; the {@code audit_head} row holds the last seq and hash. Editing any
 * field breaks that entry's hash, deleting an entry leaves a gap or a head that no longer
 * matches: {@link #verify(Jdbi)} reports the first such entry. Appends lock the head row, so
 * the chain stays linear across nodes. Thread-safe.
 */
public final class AuditLog {
    private final Clock clock;

    public AuditLog(Clock clock) {
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * Appends {@code entries} in order inside the caller's transaction. Plain JDBC with one
     * batch: this runs for every audited request.
     */
    public void appendAll(Handle handle, List<AuditEntry> entries) {
        if (entries.isEmpty()) {
            return;
        }
        Connection connection = handle.getConnection();
        try {
            long seq;
            String previous;
            try (PreparedStatement head = connection.prepareStatement("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE");
                    ResultSet rs = head.executeQuery()) {
                rs.next();
                seq = rs.getLong(1);
                previous = rs.getString(2);
            }
            Instant at = clock.now().truncatedTo(ChronoUnit.MICROS);
            Timestamp timestamp = Timestamp.from(at);
            try (PreparedStatement insert = connection.prepareStatement("""
                    INSERT INTO audit_log (seq, at, tenant_id, actor, action, subject, request_id, detail, prev_hash, hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""")) {
                for (AuditEntry entry : entries) {
                    seq++;
                    String detail = Json.text(new TreeMap<>(entry.detail()));
                    UUID tenant = entry.tenantId().map(id -> id.value()).orElse(null);
                    String hash = hash(previous, seq, at, tenant, entry.actor(), entry.action(), entry.subject(), entry.requestId(), detail);
                    insert.setLong(1, seq);
                    insert.setTimestamp(2, timestamp);
                    insert.setObject(3, tenant);
                    insert.setString(4, entry.actor());
                    insert.setString(5, entry.action());
                    insert.setString(6, entry.subject());
                    insert.setString(7, entry.requestId());
                    insert.setString(8, detail);
                    insert.setString(9, previous);
                    insert.setString(10, hash);
                    insert.addBatch();
                    previous = hash;
                }
                insert.executeBatch();
            }
            try (PreparedStatement update = connection.prepareStatement("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1")) {
                update.setLong(1, seq);
                update.setString(2, previous);
                update.executeUpdate();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot append to the audit log: " + e.getMessage(), e);
        }
    }

    /** Walks the whole chain; streams rows, so it works on logs larger than memory. */
    public Verification verify(Jdbi jdbi) {
        return jdbi.inTransaction(handle -> {
            Link head = handle.createQuery("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .map((rs, ctx) -> new Link(rs.getLong("seq"), rs.getString("hash"))).one();
            long expectedSeq = 1;
            String previous = Verification.GENESIS;
            try (var rows = handle.createQuery("SELECT * FROM audit_log ORDER BY seq").setFetchSize(1000)
                    .map((rs, ctx) -> new Row(rs.getLong("seq"), rs.getTimestamp("at").toInstant(),
                            Optional.ofNullable((UUID) rs.getObject("tenant_id")), rs.getString("actor"), rs.getString("action"),
                            rs.getString("subject"), rs.getString("request_id"), rs.getString("detail"),
                            rs.getString("prev_hash"), rs.getString("hash")))
                    .stream()) {
                for (Row row : (Iterable<Row>) rows::iterator) {
                    if (row.seq() != expectedSeq) {
                        return Verification.broken(expectedSeq - 1, expectedSeq, "entry %d is missing".formatted(expectedSeq));
                    }
                    if (!row.prevHash().equals(previous)) {
                        return Verification.broken(expectedSeq - 1, row.seq(), "entry %d does not link to entry %d".formatted(row.seq(), row.seq() - 1));
                    }
                    String computed = hash(previous, row.seq(), row.at(), row.tenant().orElse(null), row.actor(), row.action(),
                            row.subject(), row.requestId(), row.detail());
                    if (!computed.equals(row.hash())) {
                        return Verification.broken(expectedSeq - 1, row.seq(), "entry %d was altered".formatted(row.seq()));
                    }
                    previous = row.hash();
                    expectedSeq++;
                }
            }
            long last = expectedSeq - 1;
            if (head.seq() != last || !head.hash().equals(previous)) {
                return Verification.broken(last, last + 1,
                        "the chain ends at entry %d but the head says %d: entries were deleted".formatted(last, head.seq()));
            }
            return new Verification(true, last, Optional.empty(), "all %d entries intact".formatted(last));
        });
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
    }
}
