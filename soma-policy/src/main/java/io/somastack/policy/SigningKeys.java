package io.somastack.policy;

import static java.util.Objects.requireNonNull;

/**
 * A new ECDSA P-256 key pair in PEM, as {@code cosign generate-key-pair} and
 * {@code openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256} write them
 * (without a password).
 *
 * @param privateKeyPem PKCS#8, {@code -----BEGIN PRIVATE KEY-----}
 * @param publicKeyPem SubjectPublicKeyInfo, {@code -----BEGIN PUBLIC KEY-----}
 * @param keyId {@code sha256:} and the hex SHA-256 of the public key's DER encoding
 */
public record SigningKeys(String privateKeyPem, String publicKeyPem, String keyId) {
    public SigningKeys {
        requireNonNull(privateKeyPem, "privateKeyPem is null");
        requireNonNull(publicKeyPem, "publicKeyPem is null");
        requireNonNull(keyId, "keyId is null");
    }

    @Override
    public String toString() {
        return "SigningKeys[keyId=" + keyId + ", privateKeyPem=<redacted>]";
    }
}
