package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

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
