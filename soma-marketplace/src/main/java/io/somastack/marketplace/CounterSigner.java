package io.somastack.marketplace;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The marketplace's countersignature: every published bundle is also signed by this
 * SomaStack's marketplace key (role {@code marketplace}), made once and shared by all nodes
 * through PostgreSQL. A tenant that trusts the key ({@code GET /v1/marketplace/signing-key},
 * then {@code POST /v1/policy/trusted-keys} with role {@code marketplace}) can require
 * {@code 'marketplace' in signatures.roles} in its admission policies.
 */
public final class CounterSigner {
    static final String NAME = "SomaStack marketplace";

    private final SigningKeys keys;

    private CounterSigner(SigningKeys keys) {
        this.keys = keys;
    }

    /** Loads the marketplace key, making it if no node has yet. */
    public static CounterSigner load(Jdbi jdbi, Clock clock) {
        requireNonNull(jdbi, "jdbi is null");
        // Making a key costs a cold JVM a noticeable part of start-up: only the first start of an installation makes one.
        Optional<CounterSigner> stored = jdbi.withHandle(CounterSigner::stored);
        if (stored.isPresent()) {
            return stored.get();
        }
        SigningKeys made = Signatures.generate();
        return jdbi.inTransaction(handle -> {
            handle.createUpdate("""
                    INSERT INTO marketplace_signing_key (id, key_id, public_key_pem, private_key_pem, created_at)
                    VALUES (1, :keyId, :public, :private, :now) ON CONFLICT (id) DO NOTHING""")
                    .bind("keyId", made.keyId()).bind("public", made.publicKeyPem()).bind("private", made.privateKeyPem())
                    .bind("now", clock.now()).execute();
            // Another node starting at the same time may have stored its key first: every node uses the stored one.
            return stored(handle).orElseThrow();
        });
    }

    private static Optional<CounterSigner> stored(Handle handle) {
        return handle.createQuery("SELECT key_id, public_key_pem, private_key_pem FROM marketplace_signing_key WHERE id = 1")
                .map((rs, ctx) -> new CounterSigner(new SigningKeys(rs.getString("private_key_pem"), rs.getString("public_key_pem"),
                        rs.getString("key_id"))))
                .findOne();
    }

    /** The countersignature of {@code packed}, as the catalog stores it. */
    CapsuleVersion.PublishedSignature countersign(byte[] packed) {
        return new CapsuleVersion.PublishedSignature(Signatures.sign(keys.privateKeyPem(), packed), keys.keyId(), NAME, "marketplace",
                keys.publicKeyPem());
    }

    public String keyId() {
        return keys.keyId();
    }

    public String publicKeyPem() {
        return keys.publicKeyPem();
    }
}
