package io.somastack.policy.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.policy.Signatures;
import io.somastack.policy.SignedBundle;
import io.somastack.policy.TrustedKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Matches a bundle's detached signatures to a tenant's trusted keys. Every signature must
 * verify with a trusted, unrevoked key: a signature that names an unknown key, verifies only
 * with a revoked key, or verifies with no key (made over other content, or by a stranger)
 * refuses the bundle. A bundle with no signatures passes here; the policies decide whether
 * that is acceptable (see the trusted-signer example).
 */
public final class Signers {
    private Signers() {
    }

    /**
     * The distinct trusted keys that signed, in signature order; {@code packedSha256} is the
     * SHA-256 of the packed bundle, computed once by whoever read it.
     */
    public static List<TrustedKey> verify(SignedBundle bundle, byte[] packedSha256, List<TrustedKey> keys) {
        return signerOfEach(bundle, packedSha256, keys).stream().distinct().toList();
    }

    /** The trusted key of each signature, in signature order (a key that signed twice appears twice). */
    public static List<TrustedKey> signerOfEach(SignedBundle bundle, byte[] packedSha256, List<TrustedKey> keys) {
        List<TrustedKey> signers = new ArrayList<>();
        for (int index = 0; index < bundle.signatures().size(); index++) {
            SignedBundle.BundleSignature signature = bundle.signatures().get(index);
            signers.add(signature.keyId().isPresent()
                    ? byNamedKey(index, signature, keys, packedSha256)
                    : byAnyKey(index, signature, keys, packedSha256));
        }
        return signers;
    }

    private static TrustedKey byNamedKey(int index, SignedBundle.BundleSignature signature, List<TrustedKey> keys, byte[] sha256) {
        String keyId = signature.keyId().get();
        TrustedKey key = keys.stream().filter(candidate -> candidate.keyId().equals(keyId)).findFirst()
                .orElseThrow(() -> refused("signature %d names key %s, which this tenant does not trust (unknown key)".formatted(index, keyId), "unknown key"));
        if (key.revoked()) {
            throw refused("signature %d is by key %s ('%s'), which was revoked".formatted(index, keyId, key.name()), "revoked key");
        }
        if (!Signatures.verifyDigest(key.publicKeyPem(), sha256, signature.signature())) {
            throw refused("signature %d by key %s does not match this bundle (it was made over other content, or the bundle was altered)"
                    .formatted(index, keyId), "signature mismatch");
        }
        return key;
    }

    private static TrustedKey byAnyKey(int index, SignedBundle.BundleSignature signature, List<TrustedKey> keys, byte[] sha256) {
        Optional<TrustedKey> revoked = Optional.empty();
        for (TrustedKey key : keys) {
            if (Signatures.verifyDigest(key.publicKeyPem(), sha256, signature.signature())) {
                if (!key.revoked()) {
                    return key;
                }
                revoked = Optional.of(key);
            }
        }
        if (revoked.isPresent()) {
            throw refused("signature %d is by key %s ('%s'), which was revoked".formatted(index, revoked.get().keyId(), revoked.get().name()),
                    "revoked key");
        }
        throw refused("signature %d does not verify with any key this tenant trusts (an unknown key, a signature over other content, or an altered bundle)"
                .formatted(index), "untrusted signature");
    }

    /** The CEL value of {@code signatures}: {@code count}, {@code keys} ({@code id}, {@code name}, {@code role}), {@code roles}, {@code names}. */
    public static Map<String, Object> celValue(List<TrustedKey> signers) {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("count", signers.size());
        value.put("keys", signers.stream().map(key -> Map.of("id", key.keyId(), "name", key.name(), "role", key.role())).toList());
        value.put("roles", signers.stream().map(TrustedKey::role).distinct().toList());
        value.put("names", signers.stream().map(TrustedKey::name).toList());
        return value;
    }

    private static SomaException refused(String detail, String reason) {
        return new SomaException(ErrorCode.SIGNATURE_REFUSED, "Capsule bundle refused: " + detail, Map.of("reason", reason));
    }
}
