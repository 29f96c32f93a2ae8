package io.somastack.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AuditCheckpointsTest {
    private static final BigInteger P256_ORDER = new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);

    private Database database;
    private AuditLog auditLog;
    private GroupCommit commit;
    private AuditCheckpoints checkpoints;

    @BeforeEach
    void start() {
        database = TestDatabase.create();
        auditLog = new AuditLog(Clock.system());
        commit = new GroupCommit(database.jdbi(), auditLog, new Outbox(Clock.system(), new Ids(Clock.system())), 64, 2);
        checkpoints = AuditCheckpoints.load(database.jdbi(), commit, auditLog, Clock.system());
    }

    @AfterEach
    void stop() {
        checkpoints.close();
        commit.close();
        database.close();
    }

    private void append(int count) {
        TenantId tenant = new TenantId(UUID.randomUUID());
        List<CompletableFuture<Object>> futures = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            AuditEntry entry = new AuditEntry(Optional.of(tenant), "key:k" + i, "POST /v1/things 200", "thing-" + i, "req-" + i, Map.of("n", i));
            futures.add(commit.submit(tx -> {
                tx.audit(entry);
                return null;
            }));
        }
        futures.forEach(CompletableFuture::join);
    }

    /** The checkpoint as the operator keeps it: its JSON document, read back. */
    private static AuditCheckpoint kept(AuditCheckpoint checkpoint) {
        return AuditCheckpoint.parse(Json.bytes(checkpoint.toMap()));
    }

    private void sql(String statement) {
        database.jdbi().useHandle(handle -> handle.execute(statement));
    }

    @Test
    void anUntouchedLogVerifiesAgainstACheckpointAndKeepsDoingSoAsItGrows() {
        append(25);
        AuditCheckpoint checkpoint = kept(checkpoints.checkpoint());
        assertThat(checkpoint.size()).isEqualTo(25);
        assertThat(checkpoint.origin()).startsWith("urn:somastack:audit:");
        assertThat(checkpoint.keyId()).startsWith("sha256:");
        assertThat(checkpoint.publicKey()).hasValueSatisfying(jwk -> assertThat(jwk).containsEntry("kty", "EC").containsEntry("crv", "P-256")
                .containsEntry("alg", "ES256").containsEntry("kid", checkpoint.keyId()));

        AuditLog.Verification now = checkpoints.verify(checkpoint);
        assertThat(now.intact()).as(now.message()).isTrue();
        assertThat(now.message()).contains("all 25 entries intact, including the 25 of the checkpoint");

        append(10);
        AuditLog.Verification later = checkpoints.verify(checkpoint);
        assertThat(later.intact()).as(later.message()).isTrue();
        assertThat(later.checked()).isEqualTo(35);
    }

    @Test
    void deletingTheTailAndRewindingTheHeadIsFoundWithACheckpoint() {
        append(20);
        AuditCheckpoint checkpoint = kept(checkpoints.checkpoint());

        // The attack: drop the last entry and point audit_head at the new last one.
        sql("DELETE FROM audit_log WHERE seq = 20");
        sql("UPDATE audit_head SET seq = 19, hash = (SELECT hash FROM audit_log WHERE seq = 19) WHERE id = 1");

        // The chain alone cannot see it ...
        assertThat(auditLog.verify(database.jdbi()).intact()).isTrue();
        // ... the checkpoint can.
        AuditLog.Verification verification = checkpoints.verify(checkpoint);
        assertThat(verification.intact()).isFalse();
        assertThat(verification.firstBad()).contains(20L);
        assertThat(verification.checked()).isEqualTo(19);
        assertThat(verification.message()).contains("the chain ends at entry 19 but the checkpoint of " + checkpoint.timestamp()
                + " signed 20 entries: entry 20 was deleted and audit_head rewound");
    }

    @Test
    void aTailDeletedAndAppendedAgainIsFoundWithACheckpoint() {
        append(20);
        AuditCheckpoint checkpoint = kept(checkpoints.checkpoint());
        sql("DELETE FROM audit_log WHERE seq > 15");
        sql("UPDATE audit_head SET seq = 15, hash = (SELECT hash FROM audit_log WHERE seq = 15) WHERE id = 1");
        append(8);

        assertThat(auditLog.verify(database.jdbi()).intact()).isTrue();
        AuditLog.Verification verification = checkpoints.verify(checkpoint);
        assertThat(verification.intact()).isFalse();
        assertThat(verification.firstBad()).contains(20L);
        assertThat(verification.message()).contains("entry 20 does not match the checkpoint of " + checkpoint.timestamp())
                .contains("rewritten");
    }

    @Test
    void anAlteredEntryWhoseHashWasRecomputedIsNamedNotItsSuccessor() {
        append(20);
        rewrite(7, "forged");

        AuditLog.Verification verification = auditLog.verify(database.jdbi());

        assertThat(verification.intact()).isFalse();
        assertThat(verification.firstBad()).contains(7L);
        assertThat(verification.checked()).isEqualTo(6);
        assertThat(verification.message()).contains("entry 7 was altered and its hash recomputed: entry 8 recorded its hash as");
    }

    @Test
    void anAlteredLastEntryWhoseHashWasRecomputedIsNamed() {
        append(20);
        rewrite(20, "forged");

        AuditLog.Verification verification = auditLog.verify(database.jdbi());

        assertThat(verification.firstBad()).contains(20L);
        assertThat(verification.message()).contains("entry 20 was altered and its hash recomputed, or audit_head was edited");
    }

    @Test
    void anAlteredLinkIsNamedOnTheEntryThatHoldsIt() {
        append(20);
        sql("UPDATE audit_log SET prev_hash = '" + "ab".repeat(32) + "' WHERE seq = 9");

        AuditLog.Verification verification = auditLog.verify(database.jdbi());

        assertThat(verification.firstBad()).contains(9L);
        assertThat(verification.message()).contains("entry 9's link (prev_hash) was altered");
    }

    @Test
    void twoNeighboursAlteredNameTheFirstAndSaySo() {
        append(20);
        rewrite(7, "forged");
        sql("UPDATE audit_log SET subject = 'also forged' WHERE seq = 8");

        AuditLog.Verification verification = auditLog.verify(database.jdbi());

        assertThat(verification.firstBad()).contains(7L);
        assertThat(verification.message()).contains("entry 7 no longer matches the chain").contains("Entry 8 was altered as well");
    }

    /** Changes an entry's subject and recomputes its own hash, as an attacker who knows the scheme would. */
    private void rewrite(long seq, String subject) {
        database.jdbi().useHandle(handle -> {
            Map<String, Object> row = handle.createQuery("SELECT * FROM audit_log WHERE seq = :seq").bind("seq", seq).mapToMap().one();
            String hash = AuditLog.hash((String) row.get("prev_hash"), seq, ((java.sql.Timestamp) row.get("at")).toInstant(),
                    (UUID) row.get("tenant_id"), (String) row.get("actor"), (String) row.get("action"), subject,
                    (String) row.get("request_id"), (String) row.get("detail"));
            handle.createUpdate("UPDATE audit_log SET subject = :subject, hash = :hash WHERE seq = :seq")
                    .bind("subject", subject).bind("hash", hash).bind("seq", seq).execute();
        });
    }

    @Test
    void aCheckpointWithABadSignatureIsRefused() {
        append(10);
        AuditCheckpoint checkpoint = kept(checkpoints.checkpoint());

        // Claims more entries than were signed.
        Map<String, Object> inflated = new LinkedHashMap<>(checkpoint.toMap());
        inflated.put("size", 11);
        assertRefused(AuditCheckpoint.parse(Json.bytes(inflated)), "does not verify");

        // A different hash, same size.
        Map<String, Object> otherHash = new LinkedHashMap<>(checkpoint.toMap());
        otherHash.put("head_hash", "0".repeat(64));
        assertRefused(AuditCheckpoint.parse(Json.bytes(otherHash)), "does not verify");

        // A damaged signature.
        byte[] raw = Base64.getUrlDecoder().decode(checkpoint.signature());
        raw[5] ^= 1;
        assertRefused(withSignature(checkpoint, Base64.getUrlEncoder().withoutPadding().encodeToString(raw)), "does not verify");

        // The same signature spelled with high s (valid ECDSA, but not canonical) or with padding.
        byte[] low = Base64.getUrlDecoder().decode(checkpoint.signature());
        BigInteger s = new BigInteger(1, Arrays.copyOfRange(low, 32, 64));
        byte[] high = Arrays.copyOf(low, 64);
        byte[] highS = P256_ORDER.subtract(s).toByteArray();
        Arrays.fill(high, 32, 64, (byte) 0);
        int length = Math.min(highS.length, 32);
        System.arraycopy(highS, highS.length - length, high, 64 - length, length);
        assertThat(plainEcdsaVerifies(checkpoint, high)).as("the high-s spelling is a valid ECDSA signature").isTrue();
        assertRefused(withSignature(checkpoint, Base64.getUrlEncoder().withoutPadding().encodeToString(high)), "does not verify");
        assertRefused(withSignature(checkpoint, Base64.getUrlEncoder().encodeToString(low)), "does not verify");

        // Signed by another installation.
        try (Database other = TestDatabase.create(); GroupCommit otherCommit = new GroupCommit(other.jdbi(), new AuditLog(Clock.system()),
                new Outbox(Clock.system(), new Ids(Clock.system())), 8, 1)) {
            AuditCheckpoint foreign = AuditCheckpoints.load(other.jdbi(), otherCommit, new AuditLog(Clock.system()), Clock.system()).checkpoint();
            assertRefused(foreign, "not this installation's checkpoint key");
            // ... even when it claims this installation's key id.
            assertRefused(new AuditCheckpoint(foreign.origin(), foreign.size(), foreign.headHash(), foreign.timestamp(), checkpoint.keyId(),
                    Optional.empty(), foreign.signature()), "does not verify");
        }

        // The untouched one still verifies.
        assertThat(checkpoints.verify(checkpoint).intact()).isTrue();
    }

    /** Whether the JDK's ECDSA, which accepts either s, verifies {@code rs} with the checkpoint's JWK. */
    private static boolean plainEcdsaVerifies(AuditCheckpoint checkpoint, byte[] rs) {
        try {
            Map<String, String> jwk = checkpoint.publicKey().orElseThrow();
            var parameters = java.security.AlgorithmParameters.getInstance("EC");
            parameters.init(new java.security.spec.ECGenParameterSpec("secp256r1"));
            var point = new java.security.spec.ECPoint(new BigInteger(1, Base64.getUrlDecoder().decode(jwk.get("x"))),
                    new BigInteger(1, Base64.getUrlDecoder().decode(jwk.get("y"))));
            var key = java.security.KeyFactory.getInstance("EC").generatePublic(new java.security.spec.ECPublicKeySpec(point,
                    parameters.getParameterSpec(java.security.spec.ECParameterSpec.class)));
            var verifier = java.security.Signature.getInstance("SHA256withECDSAinP1363Format");
            verifier.initVerify(key);
            verifier.update(checkpoint.note().getBytes(StandardCharsets.UTF_8));
            return verifier.verify(rs);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static AuditCheckpoint withSignature(AuditCheckpoint checkpoint, String signature) {
        return new AuditCheckpoint(checkpoint.origin(), checkpoint.size(), checkpoint.headHash(), checkpoint.timestamp(), checkpoint.keyId(),
                checkpoint.publicKey(), signature);
    }

    private void assertRefused(AuditCheckpoint checkpoint, String message) {
        assertThatThrownBy(() -> checkpoints.verify(checkpoint)).isInstanceOfSatisfying(SomaException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.SIGNATURE_REFUSED);
            assertThat(e.getMessage()).contains(message);
        });
    }

    @Test
    void everyCheckpointIsWrittenToTheOutboxAndVerifiesFromThere() {
        append(12);
        AuditCheckpoint made = checkpoints.checkpoint();

        List<String> events = database.jdbi().withHandle(handle -> handle.createQuery(
                "SELECT data::text FROM outbox WHERE type = 'io.somastack.audit.checkpoint' ORDER BY seq").mapTo(String.class).list());
        assertThat(events).hasSize(1);
        AuditCheckpoint fromOutbox = AuditCheckpoint.parse(events.getFirst().getBytes(StandardCharsets.UTF_8));
        assertThat(fromOutbox).isEqualTo(made);
        assertThat(checkpoints.verify(fromOutbox).intact()).isTrue();
        assertThat(checkpoints.latest()).contains(made);

        // The CloudEvent that carries it is accepted as well.
        Map<String, Object> event = Map.of("specversion", "1.0", "type", AuditCheckpoint.EVENT_TYPE, "source", "urn:somastack",
                "id", UUID.randomUUID().toString(), "data", made.toMap());
        assertThat(AuditCheckpoint.parse(Json.bytes(event))).isEqualTo(made);
    }

    @Test
    void periodicCheckpointsAreSignedOnlyWhenTheLogGrew() throws InterruptedException {
        assertThat(checkpoints.checkpointIfGrown()).as("an empty log").isEmpty();
        append(3);
        assertThat(checkpoints.checkpointIfGrown()).hasValueSatisfying(made -> assertThat(made.size()).isEqualTo(3));
        assertThat(checkpoints.checkpointIfGrown()).as("no growth").isEmpty();

        checkpoints.start(Duration.ofMillis(50));
        append(4);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (checkpoints.latest().orElseThrow().size() < 7 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(checkpoints.latest().orElseThrow().size()).isEqualTo(7);
        Thread.sleep(300);
        long signed = database.jdbi().withHandle(handle -> handle.createQuery("SELECT count(*) FROM audit_checkpoints").mapTo(Long.class).one());
        assertThat(signed).as("one per growth, not one per tick").isEqualTo(2);

        // Shutdown signs the growth since the last tick.
        append(2);
        checkpoints.close();
        assertThat(checkpoints.latest().orElseThrow().size()).isEqualTo(9);
    }

    @Test
    void theIntervalIsConfigured() {
        java.nio.file.Path dir = java.nio.file.Path.of("target");
        assertThat(StoreConfig.from(io.somastack.kernel.Settings.of(Map.of()), dir).auditCheckpointInterval()).isEqualTo(Duration.ofMinutes(1));
        assertThat(StoreConfig.from(io.somastack.kernel.Settings.of(Map.of("audit.checkpoint.interval", "15s")), dir).auditCheckpointInterval())
                .isEqualTo(Duration.ofSeconds(15));
        assertThat(StoreConfig.from(io.somastack.kernel.Settings.of(Map.of("audit.checkpoint.interval", "0s")), dir).auditCheckpointInterval())
                .isZero();
        io.somastack.kernel.Settings negative = io.somastack.kernel.Settings.of(Map.of("audit.checkpoint.interval", "-5s"));
        StoreConfig.from(negative, dir);
        assertThatThrownBy(negative::validate).hasMessageContaining("audit.checkpoint.interval");
    }

    @Test
    void theKeyIsMadeOnceAndSharedByEveryNode() {
        AuditCheckpoints otherNode = AuditCheckpoints.load(database.jdbi(), commit, auditLog, Clock.system());
        assertThat(otherNode.keyId()).isEqualTo(checkpoints.keyId());
        assertThat(otherNode.origin()).isEqualTo(checkpoints.origin());
        append(2);
        assertThat(checkpoints.verify(kept(otherNode.checkpoint())).intact()).isTrue();
    }

    @Test
    void aMalformedCheckpointIsRefusedNamingTheField() {
        assertThatThrownBy(() -> AuditCheckpoint.parse("{\"origin\":\"x\",\"size\":1}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.getMessage()).contains("head_hash"));
        assertThatThrownBy(() -> AuditCheckpoint.parse("{\"origin\":\"x\",\"size\":-1}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.getMessage()).contains("size"));
        assertThatThrownBy(() -> AuditCheckpoint.parse("{\"origin\":\"x\",\"size\":\"1\"}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.getMessage()).contains("size"));
        assertThatThrownBy(() -> AuditCheckpoint.parse("{\"origin\":\"x\",\"surprise\":1}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_FIELD));
        assertThatThrownBy(() -> AuditCheckpoint.parse("null".getBytes(StandardCharsets.UTF_8))).isInstanceOf(SomaException.class);
        Map<String, Object> badTime = Map.of("origin", "x", "size", 1, "head_hash", "0".repeat(64), "timestamp", "yesterday",
                "key_id", "k", "signature", "s");
        assertThatThrownBy(() -> AuditCheckpoint.parse(Json.bytes(badTime)))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.getMessage()).contains("timestamp"));
        assertThat(Instant.parse(kept(checkpoints.checkpoint()).timestamp())).isNotNull();
    }
}
