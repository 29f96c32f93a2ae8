package io.somastack.store.internal;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ES256 as JWS defines it (RFC 7518 §3.4): ECDSA on P-256 with SHA-256, the signature being
 * the 64 bytes {@code r‖s}, carried as base64url without padding. Signatures are made with a
 * low {@code s} and only low-{@code s} signatures verify, so one message has exactly one
 * valid signature per key. Keys are PEM (PKCS#8 private, SubjectPublicKeyInfo public), as
 * {@code openssl} writes them. JDK crypto only. Stateless and thread-safe.
 */
public final class Es256 {
    /** The order n of the P-256 group. */
    private static final BigInteger ORDER = new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);
    private static final BigInteger HALF_ORDER = ORDER.shiftRight(1);
    private static final int SCALAR_BYTES = 32;

    private Es256() {
    }

    /** A new key pair: {@code [private PEM, public PEM]}. */
    public static String[] generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = generator.generateKeyPair();
            return new String[] {pem("PRIVATE KEY", pair.getPrivate().getEncoded()), pem("PUBLIC KEY", pair.getPublic().getEncoded())};
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("The JDK cannot make P-256 keys", e);
        }
    }

    public static PrivateKey privateKey(String pem) {
        try {
            return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(unpem(pem, "PRIVATE KEY")));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalStateException("The stored checkpoint key is not a PKCS#8 EC key", e);
        }
    }

    public static ECPublicKey publicKey(String pem) {
        try {
            return (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(unpem(pem, "PUBLIC KEY")));
        } catch (GeneralSecurityException | IllegalArgumentException | ClassCastException e) {
            throw new IllegalStateException("The stored checkpoint public key is not an EC key", e);
        }
    }

    /** {@code sha256:} and the hex SHA-256 of the key's DER (SubjectPublicKeyInfo), as soma-policy names keys. */
    public static String keyId(PublicKey key) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The public key as a JWK (RFC 7517), with {@code kid}, {@code alg} and {@code use}. */
    public static Map<String, String> jwk(ECPublicKey key, String keyId) {
        Map<String, String> jwk = new LinkedHashMap<>();
        jwk.put("kty", "EC");
        jwk.put("crv", "P-256");
        jwk.put("x", base64Url(scalar(key.getW().getAffineX())));
        jwk.put("y", base64Url(scalar(key.getW().getAffineY())));
        jwk.put("kid", keyId);
        jwk.put("alg", "ES256");
        jwk.put("use", "sig");
        return jwk;
    }

    /** The base64url ES256 signature of the UTF-8 bytes of {@code message}, with a low s. */
    public static String sign(PrivateKey key, String message) {
        try {
            Signature signer = Signature.getInstance("SHA256withECDSAinP1363Format");
            signer.initSign(key);
            signer.update(message.getBytes(StandardCharsets.UTF_8));
            byte[] signature = signer.sign();
            BigInteger s = new BigInteger(1, Arrays.copyOfRange(signature, SCALAR_BYTES, 2 * SCALAR_BYTES));
            if (s.compareTo(HALF_ORDER) > 0) {
                System.arraycopy(scalar(ORDER.subtract(s)), 0, signature, SCALAR_BYTES, SCALAR_BYTES);
            }
            return base64Url(signature);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Cannot sign with the checkpoint key", e);
        }
    }

    /**
     * Whether {@code signature} (base64url of {@code r‖s}) is the ES256 signature of
     * {@code message} by {@code key}. A malformed, padded or high-{@code s} signature is simply
     * not valid.
     */
    public static boolean verify(PublicKey key, String message, String signature) {
        byte[] raw;
        try {
            raw = Base64.getUrlDecoder().decode(signature);
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (raw.length != 2 * SCALAR_BYTES || !base64Url(raw).equals(signature)
                || new BigInteger(1, Arrays.copyOfRange(raw, SCALAR_BYTES, 2 * SCALAR_BYTES)).compareTo(HALF_ORDER) > 0) {
            return false;
        }
        try {
            Signature verifier = Signature.getInstance("SHA256withECDSAinP1363Format");
            verifier.initVerify(key);
            verifier.update(message.getBytes(StandardCharsets.UTF_8));
            return verifier.verify(raw);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    private static byte[] scalar(BigInteger value) {
        byte[] bytes = value.toByteArray();
        byte[] fixed = new byte[SCALAR_BYTES];
        int length = Math.min(bytes.length, SCALAR_BYTES);
        System.arraycopy(bytes, bytes.length - length, fixed, SCALAR_BYTES - length, length);
        return fixed;
    }

    private static String base64Url(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static byte[] unpem(String pem, String type) {
        String body = pem.replace("-----BEGIN " + type + "-----", "").replace("-----END " + type + "-----", "").replaceAll("\\s", "");
        return Base64.getDecoder().decode(body);
    }
}
