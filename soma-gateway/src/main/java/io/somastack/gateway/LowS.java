package io.somastack.gateway;

import java.math.BigInteger;
import java.util.Arrays;

/**
 * The canonical spelling of a P-256 ECDSA signature in JWS form (r || s, 32 bytes each): s in
 * the lower half of the group order. Both (r, s) and (r, n - s) verify, so refusing the high
 * form gives every token exactly one valid spelling (no malleated copies of a token).
 */
final class LowS {
    /** The order n of the P-256 group. */
    private static final BigInteger ORDER = new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);
    private static final BigInteger HALF_ORDER = ORDER.shiftRight(1);

    private LowS() {
    }

    /** Whether a 64-byte JWS signature has s above n / 2 (a wrong length is not judged here). */
    static boolean isHigh(byte[] signature) {
        return signature.length == 64 && s(signature).compareTo(HALF_ORDER) > 0;
    }

    /** The same signature with s replaced by n - s. */
    static byte[] normalize(byte[] signature) {
        byte[] low = Arrays.copyOf(signature, 64);
        byte[] s = ORDER.subtract(s(signature)).toByteArray();
        Arrays.fill(low, 32, 64, (byte) 0);
        int length = Math.min(s.length, 32);
        System.arraycopy(s, s.length - length, low, 64 - length, length);
        return low;
    }

    private static BigInteger s(byte[] signature) {
        return new BigInteger(1, Arrays.copyOfRange(signature, 32, 64));
    }
}
