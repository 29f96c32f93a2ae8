package io.somastack.policy.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;

/** SHA digests in lowercase hex, and the canonical digest of a bundle. */
public final class Hashes {
    private Hashes() {
    }

    public static String sha256(byte[] bytes) {
        return hex("SHA-256", bytes);
    }

    public static byte[] sha256Bytes(byte[] bytes) {
        return sha256Digest().digest(bytes);
    }

    /** A new SHA-256 digest, for hashing a stream as it goes by. */
    public static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String hex(String algorithm, byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * {@code sha256:} and the SHA-256 of the lines {@code <sha256 hex>  <path>\n}, one per
     * file in path order: the output of {@code sha256sum} over the sorted files. It depends
     * on the files' paths and bytes only, not on how they were zipped.
     */
    public static String canonicalDigest(SortedMap<String, String> fileSha256) {
        StringBuilder lines = new StringBuilder();
        for (Map.Entry<String, String> file : fileSha256.entrySet()) {
            lines.append(file.getValue()).append("  ").append(file.getKey()).append('\n');
        }
        return "sha256:" + sha256(lines.toString().getBytes(StandardCharsets.UTF_8));
    }
}
