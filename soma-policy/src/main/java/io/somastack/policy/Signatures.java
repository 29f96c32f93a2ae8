package io.somastack.policy;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.policy.internal.Hashes;
import io.somastack.policy.internal.Pem;
import io.somastack.policy.internal.Signers;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.List;

/**
 * ECDSA P-256 signatures over a packed bundle file, interchangeable with
 * {@code cosign sign-blob --key} and {@code openssl dgst -sha256 -sign}: the signature is the
 * DER-encoded ECDSA-SHA256 signature of the file's bytes, carried as base64. Keys are PEM
 * (PKCS#8 private, SubjectPublicKeyInfo public); only the P-256 curve is accepted. JDK
 * crypto only. Stateless and thread-safe.
 *
 * <pre>{@code
 * SigningKeys keys = Signatures.generate();
 * String signature = Signatures.sign(keys.privateKeyPem(), bundleBytes);
 * boolean valid = Signatures.verify(keys.publicKeyPem(), bundleBytes, signature);
 * }</pre>
 */
public final class Signatures {
    private static final String ALGORITHM = "SHA256withECDSA";
    private static final ECParameterSpec P256 = p256();

    private Signatures() {
    }

    public static SigningKeys generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = generator.generateKeyPair();
            byte[] publicDer = pair.getPublic().getEncoded();
            return new SigningKeys(Pem.encode("PRIVATE KEY", pair.getPrivate().getEncoded()), Pem.encode("PUBLIC KEY", publicDer),
                    keyId(publicDer));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("The JDK cannot make P-256 keys", e);
        }
    }

    /** The base64 DER signature of {@code content} with {@code privateKeyPem}. */
    public static String sign(String privateKeyPem, byte[] content) {
        try {
            PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Pem.decode(privateKeyPem, "PRIVATE KEY")));
            Signature signer = Signature.getInstance(ALGORITHM);
            signer.initSign(key);
            signer.update(content);
            return Base64.getEncoder().encodeToString(signer.sign());
        } catch (GeneralSecurityException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The private key is not a PKCS#8 EC key: " + e.getMessage());
        }
    }

    /**
     * Whether {@code signature} (base64 of the DER signature; line breaks allowed, as
     * {@code openssl base64} wraps) is a valid signature of {@code content} by
     * {@code publicKeyPem}. A malformed signature is simply not valid.
     */
    public static boolean verify(String publicKeyPem, byte[] content, String signature) {
        return verify(publicKey(publicKeyPem), content, signature);
    }

    /**
     * As {@link #verify(String, byte[], String)} for content whose SHA-256 is {@code sha256}:
     * the same ECDSA-SHA256 check without hashing the content again (ECDSA signs the hash; a
     * bundle's hash is computed once when it is read).
     */
    public static boolean verifyDigest(String publicKeyPem, byte[] sha256, String signature) {
        if (sha256.length != 32) {
            throw new IllegalArgumentException("a SHA-256 digest has 32 bytes");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(signature.strip());
        } catch (IllegalArgumentException e) {
            return false;
        }
        try {
            Signature verifier = Signature.getInstance("NONEwithECDSA");
            verifier.initVerify(publicKey(publicKeyPem));
            verifier.update(sha256);
            return verifier.verify(der);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    static boolean verify(PublicKey key, byte[] content, String signature) {
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(signature.strip());
        } catch (IllegalArgumentException e) {
            return false;
        }
        try {
            Signature verifier = Signature.getInstance(ALGORITHM);
            verifier.initVerify(key);
            verifier.update(content);
            return verifier.verify(der);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The trusted key of each of {@code bundle}'s signatures over {@code packedSha256}, in
     * signature order; throws {@code SIGNATURE_REFUSED} naming the first signature that names an
     * unknown key, is by a revoked key, or verifies with none of {@code keys}.
     */
    public static List<TrustedKey> signerOfEach(SignedBundle bundle, byte[] packedSha256, List<TrustedKey> keys) {
        return Signers.signerOfEach(bundle, packedSha256, keys);
    }

    /** Parses a SubjectPublicKeyInfo PEM, refusing anything but an EC P-256 key. */
    public static PublicKey publicKey(String publicKeyPem) {
        try {
            PublicKey key = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(Pem.decode(publicKeyPem, "PUBLIC KEY")));
            if (!(key instanceof ECPublicKey ec) || !ec.getParams().getCurve().equals(P256.getCurve())
                    || !ec.getParams().getOrder().equals(P256.getOrder())) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "Only ECDSA P-256 (prime256v1) public keys are accepted");
            }
            return key;
        } catch (GeneralSecurityException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The public key is not an EC SubjectPublicKeyInfo: " + e.getMessage());
        }
    }

    /** {@code sha256:} and the hex SHA-256 of the DER public key in {@code publicKeyPem}. */
    public static String keyId(String publicKeyPem) {
        return keyId(publicKey(publicKeyPem).getEncoded());
    }

    private static ECParameterSpec p256() {
        try {
            AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
            parameters.init(new ECGenParameterSpec("secp256r1"));
            return parameters.getParameterSpec(ECParameterSpec.class);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("The JDK lacks the P-256 curve", e);
        }
    }

    private static String keyId(byte[] publicDer) {
        return "sha256:" + Hashes.sha256(publicDer);
    }
}
