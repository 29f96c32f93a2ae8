package io.somastack.store;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.store.internal.Es256;
import java.security.PrivateKey;
import java.security.interfaces.ECPublicKey;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signed checkpoints of the audit log's head, so the head can be checked from outside the
 * database. The hash chain alone cannot show that its tail was cut off: delete the last
 * entries, set {@code audit_head} to the new last one, and the shorter chain is consistent.
 * A checkpoint ({@link AuditCheckpoint}: origin, size, head hash, timestamp, ES256 signature)
 * that the operator kept elsewhere can: the chain must still hold entry {@code size} with
 * exactly that hash ({@link #verify}).
 *
 * <p>Checkpoints are signed every {@code interval} when the log grew ({@link #start}), on
 * demand ({@link #checkpoint()}), and once more at shutdown; each is written to the outbox
 * as an {@value AuditCheckpoint#EVENT_TYPE} event in the same transaction, which is how the
 * operator collects them. The signing key (P-256) is made once per installation and shared
 * by every node through PostgreSQL, like the marketplace's countersigning key; an advisory
 * lock keeps nodes from signing the same head twice. Thread-safe.
 */
public final class AuditCheckpoints implements AutoCloseable {
    /** The default of {@code audit.checkpoint.interval}. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(1);

    private static final Logger LOG = LoggerFactory.getLogger(AuditCheckpoints.class);
    /** pg_advisory_xact_lock key of checkpoint signing ("AUDITCKP"). */
    private static final long LOCK = 0x4155444954434b50L;

    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final AuditLog auditLog;
    private final Clock clock;
    private final String origin;
    private final String keyId;
    private final PrivateKey privateKey;
    private final ECPublicKey publicKey;
    private final Map<String, String> jwk;
    private ScheduledExecutorService scheduler;

    private AuditCheckpoints(Jdbi jdbi, GroupCommit commit, AuditLog auditLog, Clock clock, String origin, String publicKeyPem,
            String privateKeyPem) {
        this.jdbi = jdbi;
        this.commit = commit;
        this.auditLog = auditLog;
        this.clock = clock;
        this.origin = origin;
        this.publicKey = Es256.publicKey(publicKeyPem);
        this.privateKey = Es256.privateKey(privateKeyPem);
        this.keyId = Es256.keyId(publicKey);
        this.jwk = Es256.jwk(publicKey, keyId);
    }

    /** Loads the installation's checkpoint key, making it (and the log's origin) if no node has yet. */
    public static AuditCheckpoints load(Jdbi jdbi, GroupCommit commit, AuditLog auditLog, Clock clock) {
        requireNonNull(jdbi, "jdbi is null");
        requireNonNull(commit, "commit is null");
        requireNonNull(auditLog, "auditLog is null");
        requireNonNull(clock, "clock is null");
        // Making a P-256 key costs a cold JVM about 0.1-0.2 s: only the first start of an installation makes one.
        Optional<AuditCheckpoints> stored = jdbi.withHandle(handle -> stored(handle, jdbi, commit, auditLog, clock));
        if (stored.isPresent()) {
            return stored.get();
        }
        String[] made = Es256.generate();
        String madeKeyId = Es256.keyId(Es256.publicKey(made[1]));
        return jdbi.inTransaction(handle -> {
            // Plain JDBC: JDBI's flight-recorder events record statement arguments, and this one is a private key.
            try (PreparedStatement insert = handle.getConnection().prepareStatement("""
                    INSERT INTO audit_checkpoint_key (id, origin, key_id, public_key_pem, private_key_pem, created_at)
                    VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING""")) {
                insert.setString(1, "urn:somastack:audit:" + UUID.randomUUID());
                insert.setString(2, madeKeyId);
                insert.setString(3, made[1]);
                insert.setString(4, made[0]);
                insert.setTimestamp(5, Timestamp.from(clock.now()));
                insert.executeUpdate();
            } catch (SQLException e) {
                throw new IllegalStateException("Cannot store the audit checkpoint key: " + e.getMessage(), e);
            }
            // Another node starting at the same time may have stored its key first: every node uses the stored one.
            return stored(handle, jdbi, commit, auditLog, clock).orElseThrow();
        });
    }

    private static Optional<AuditCheckpoints> stored(Handle handle, Jdbi jdbi, GroupCommit commit, AuditLog auditLog, Clock clock) {
        return handle.createQuery("SELECT origin, public_key_pem, private_key_pem FROM audit_checkpoint_key WHERE id = 1")
                .map((rs, ctx) -> new AuditCheckpoints(jdbi, commit, auditLog, clock, rs.getString("origin"),
                        rs.getString("public_key_pem"), rs.getString("private_key_pem")))
                .findOne();
    }

    /**
     * Signs a checkpoint every {@code interval} if the log grew since the last one (a zero
     * interval signs only on demand), and one more at {@link #close()}.
     */
    public synchronized AuditCheckpoints start(Duration interval) {
        requireNonNull(interval, "interval is null");
        if (scheduler != null) {
            throw new IllegalStateException("already started");
        }
        if (interval.isPositive()) {
            scheduler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("audit-checkpointer").daemon().factory());
            scheduler.scheduleWithFixedDelay(() -> {
                try {
                    checkpointIfGrown().ifPresent(made -> LOG.debug("Signed audit checkpoint {}", made));
                } catch (RuntimeException e) {
                    LOG.warn("Signing an audit checkpoint failed; retrying in {}: {}", interval, e.getMessage());
                }
            }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        }
        return this;
    }

    /** Signs the current head now (even if an earlier checkpoint has the same size) and writes it to the outbox. */
    public AuditCheckpoint checkpoint() {
        return commit.execute(tx -> write(tx, false)).orElseThrow();
    }

    /** Signs the current head if the log grew since the last checkpoint (or has none yet and is not empty). */
    public Optional<AuditCheckpoint> checkpointIfGrown() {
        return commit.execute(tx -> write(tx, true));
    }

    /** The checkpoint signed last by any node, if any. */
    public Optional<AuditCheckpoint> latest() {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT size, head_hash, timestamp, key_id, signature FROM audit_checkpoints ORDER BY id DESC LIMIT 1")
                .map((rs, ctx) -> new AuditCheckpoint(origin, rs.getLong("size"), rs.getString("head_hash"), rs.getString("timestamp"),
                        rs.getString("key_id"), rs.getString("key_id").equals(keyId) ? Optional.of(jwk) : Optional.empty(),
                        rs.getString("signature")))
                .findOne());
    }

    /**
     * Checks {@code checkpoint}'s signature with this installation's key, then walks the chain
     * ({@link AuditLog#verify}), which must also still hold entry {@code size} with the
     * checkpoint's hash.
     *
     * @throws SomaException {@link ErrorCode#SIGNATURE_REFUSED} if the checkpoint was not signed
     *     by this installation's checkpoint key or was changed after signing
     */
    public AuditLog.Verification verify(AuditCheckpoint checkpoint) {
        requireNonNull(checkpoint, "checkpoint is null");
        if (!keyId.equals(checkpoint.keyId())) {
            throw new SomaException(ErrorCode.SIGNATURE_REFUSED, ("The checkpoint names key %s, not this installation's checkpoint key %s: "
                    + "it was not signed here").formatted(checkpoint.keyId(), keyId));
        }
        if (checkpoint.publicKey().isPresent() && !sameKey(checkpoint.publicKey().get())) {
            throw new SomaException(ErrorCode.SIGNATURE_REFUSED, "The checkpoint's public_key is not this installation's checkpoint key " + keyId);
        }
        if (!Es256.verify(publicKey, checkpoint.note(), checkpoint.signature())) {
            throw new SomaException(ErrorCode.SIGNATURE_REFUSED, ("The checkpoint's signature does not verify with this installation's "
                    + "checkpoint key %s: the checkpoint was altered after it was signed").formatted(keyId));
        }
        if (!origin.equals(checkpoint.origin())) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The checkpoint is of audit log %s, not of this one (%s)"
                    .formatted(checkpoint.origin(), origin));
        }
        return auditLog.verify(jdbi, Optional.of(checkpoint));
    }

    /** This log's name in every checkpoint: {@code urn:somastack:audit:<uuid>}, fixed per installation. */
    public String origin() {
        return origin;
    }

    /** {@code sha256:} and the hex SHA-256 of the checkpoint key's SubjectPublicKeyInfo. */
    public String keyId() {
        return keyId;
    }

    /** The checkpoint key's public half as a JWK. */
    public Map<String, String> publicKey() {
        return jwk;
    }

    private Optional<AuditCheckpoint> write(Tx tx, boolean onlyIfGrown) {
        Handle handle = tx.handle();
        // Nodes sign one after another, so no two sign the same growth and sizes only increase.
        handle.createQuery("SELECT 1 FROM (SELECT pg_advisory_xact_lock(:lock)) AS locked").bind("lock", LOCK).mapTo(Integer.class).one();
        record Head(long seq, String hash) {
        }
        Head head = handle.createQuery("SELECT seq, hash FROM audit_head WHERE id = 1")
                .map((rs, ctx) -> new Head(rs.getLong("seq"), rs.getString("hash"))).one();
        if (onlyIfGrown) {
            long signed = handle.createQuery("SELECT size FROM audit_checkpoints ORDER BY id DESC LIMIT 1").mapTo(Long.class)
                    .findOne().orElse(0L);
            if (head.seq() <= signed) {
                return Optional.empty();
            }
        }
        Instant now = clock.now().truncatedTo(ChronoUnit.MILLIS);
        String timestamp = now.toString();
        AuditCheckpoint checkpoint = new AuditCheckpoint(origin, head.seq(), head.hash(), timestamp, keyId, Optional.of(jwk),
                Es256.sign(privateKey, AuditCheckpoint.note(origin, head.seq(), head.hash(), timestamp)));
        handle.createUpdate("""
                INSERT INTO audit_checkpoints (size, head_hash, timestamp, key_id, signature, created_at)
                VALUES (:size, :hash, :timestamp, :keyId, :signature, :now)""")
                .bind("size", checkpoint.size()).bind("hash", checkpoint.headHash()).bind("timestamp", checkpoint.timestamp())
                .bind("keyId", keyId).bind("signature", checkpoint.signature()).bind("now", Timestamp.from(now)).execute();
        tx.publish(new OutboxEvent(AuditCheckpoint.EVENT_TYPE, Long.toString(checkpoint.size()), Optional.empty(), checkpoint.toMap()));
        return Optional.of(checkpoint);
    }

    private boolean sameKey(Map<String, String> other) {
        return "EC".equals(other.get("kty")) && "P-256".equals(other.get("crv")) && jwk.get("x").equals(other.get("x"))
                && jwk.get("y").equals(other.get("y"));
    }

    /** Stops the schedule and signs a last checkpoint if the log grew (the group commit must still be open). */
    @Override
    public synchronized void close() {
        if (scheduler == null) {
            return;
        }
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(10, TimeUnit.SECONDS);
            commit.submit(tx -> write(tx, true)).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.warn("No audit checkpoint at shutdown: {}", e.getMessage());
        }
        scheduler = null;
    }
}
