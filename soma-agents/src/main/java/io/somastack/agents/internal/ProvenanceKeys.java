package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import io.somastack.gateway.SigningKeyInfo;
import io.somastack.kernel.Clock;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.sql.Timestamp;
import java.text.ParseException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * The long-lived ES256 keys that sign answers' provenance, in PostgreSQL so every node signs with
 * the same key and publishes the same set. The active key is the oldest one not retired; the
 * first start of an installation makes it. {@link #rotate()} retires it and makes the next;
 * {@link #jwks()} publishes every key ever made, retired ones included, so a provenance record
 * verifies offline for as long as it is kept. Thread-safe.
 */
public final class ProvenanceKeys {
    private final Jdbi jdbi;
    private final Clock clock;
    private volatile List<Key> keys = List.of();

    private record Key(ECKey key, boolean retired) {
    }

    /** A detached ES256 signature (ASN.1 DER, as openssl and DSSE verifiers read it) and the key that made it. */
    public record Signed(String keyId, byte[] signature) {
    }

    public ProvenanceKeys(Jdbi jdbi, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Loads the keys, making the first one on a new installation. */
    public ProvenanceKeys start() {
        reload();
        if (keys.stream().allMatch(Key::retired)) {
            insert(generate());
            reload();
        }
        return this;
    }

    /** Retires the active key and makes a new one active; the retired key stays published. */
    public void rotate() {
        ECKey next = generate();
        jdbi.useTransaction(handle -> {
            handle.createUpdate("UPDATE agent_provenance_keys SET retired_at = :now WHERE retired_at IS NULL")
                    .bind("now", Timestamp.from(clock.now())).execute();
            handle.createUpdate("INSERT INTO agent_provenance_keys (kid, private_jwk, created_at) VALUES (:kid, :jwk, :now)")
                    .bind("kid", next.getKeyID()).bind("jwk", next.toJSONString()).bind("now", Timestamp.from(clock.now())).execute();
        });
        reload();
    }

    /** Signs {@code data} with the active key (reloaded first when another node rotated it). */
    public Signed sign(byte[] data) {
        ECKey active = active();
        try {
            Signature signature = Signature.getInstance("SHA256withECDSA");
            signature.initSign(active.toECPrivateKey());
            signature.update(data);
            return new Signed(active.getKeyID(), signature.sign());
        } catch (JOSEException | GeneralSecurityException e) {
            throw new IllegalStateException("Cannot sign with provenance key " + active.getKeyID(), e);
        }
    }

    /** Every provenance key's public half, retired ones included, as a JWK Set. */
    public Map<String, Object> jwks() {
        reload();
        return new JWKSet(keys.stream().map(key -> (JWK) key.key().toPublicJWK()).toList()).toJSONObject(true);
    }

    /** Every provenance key, newest first: kid, algorithm and dates, never the private half. */
    public List<SigningKeyInfo> infos() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT kid, created_at, retired_at FROM agent_provenance_keys ORDER BY created_at DESC, kid")
                .map((rs, ctx) -> new SigningKeyInfo(rs.getString("kid"), JWSAlgorithm.ES256.getName(), rs.getTimestamp("created_at").toInstant(),
                        Optional.ofNullable(rs.getTimestamp("retired_at")).map(Timestamp::toInstant)))
                .list());
    }

    private ECKey active() {
        List<Key> known = keys;
        if (known.isEmpty() || known.getFirst().retired()) {
            reload();
            known = keys;
        }
        return known.stream().filter(key -> !key.retired()).findFirst()
                .orElseThrow(() -> new IllegalStateException("No active provenance key; was ProvenanceKeys started?")).key();
    }

    private void reload() {
        keys = jdbi.withHandle(handle -> handle.createQuery("""
                SELECT private_jwk, retired_at IS NOT NULL AS retired FROM agent_provenance_keys
                ORDER BY retired_at IS NOT NULL, created_at, kid""")
                .map((rs, ctx) -> {
                    try {
                        return new Key(ECKey.parse(rs.getString("private_jwk")), rs.getBoolean("retired"));
                    } catch (ParseException e) {
                        throw new IllegalStateException("A stored provenance key does not parse", e);
                    }
                }).list());
    }

    private void insert(ECKey key) {
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO agent_provenance_keys (kid, private_jwk, created_at) SELECT :kid, :jwk, :now
                WHERE NOT EXISTS (SELECT 1 FROM agent_provenance_keys WHERE retired_at IS NULL)""")
                .bind("kid", key.getKeyID()).bind("jwk", key.toJSONString()).bind("now", Timestamp.from(clock.now())).execute());
    }

    private static ECKey generate() {
        try {
            return new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.ES256)
                    .keyID("provenance-" + UUID.randomUUID()).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException("Cannot generate a provenance key", e);
        }
    }
}
