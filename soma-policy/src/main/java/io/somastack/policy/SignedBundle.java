package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.policy.internal.Hashes;
import io.somastack.policy.internal.RouteWire;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * A packed bundle as it arrives for admission, with its detached signatures (a publisher's,
 * perhaps a marketplace countersignature), each over the packed bytes.
 */
public record SignedBundle(byte[] packed, List<BundleSignature> signatures) {
    public SignedBundle {
        requireNonNull(packed, "packed is null");
        signatures = List.copyOf(signatures);
    }

    /**
     * The JSON form, {@code {bundle: base64, signatures: [{signature, key_id?}]}}, read strictly
     * ({@link WireObject}): a 400 naming the field for anything else.
     */
    public static SignedBundle fromJson(JsonNode body) {
        return RouteWire.signedBundle(body);
    }

    /** The SHA-256 of the packed bytes, which the signatures are over. */
    public byte[] packedSha256() {
        return Hashes.sha256Bytes(packed);
    }

    /**
     * One detached signature.
     *
     * @param signature base64 of the DER ECDSA-SHA256 signature
     * @param keyId the signer's key id if the sender names it; without it every trusted key is tried
     */
    public record BundleSignature(String signature, Optional<String> keyId) {
        public BundleSignature {
            requireNonNull(signature, "signature is null");
            requireNonNull(keyId, "keyId is null");
        }
    }
}
