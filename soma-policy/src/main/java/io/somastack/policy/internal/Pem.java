package io.somastack.policy.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.Base64;

/** PEM text to DER bytes and back (RFC 7468), with the base64 wrapped at 64 columns as openssl does. */
public final class Pem {
    private Pem() {
    }

    public static String encode(String label, byte[] der) {
        String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
    }

    public static byte[] decode(String pem, String label) {
        String begin = "-----BEGIN " + label + "-----";
        String end = "-----END " + label + "-----";
        int start = pem.indexOf(begin);
        int stop = pem.indexOf(end);
        if (start < 0 || stop < start) {
            String found = pem.contains("-----BEGIN ") ? pem.substring(pem.indexOf("-----BEGIN ")).lines().findFirst().orElse("") : "no PEM block";
            throw new SomaException(ErrorCode.INVALID_REQUEST, "Expected a PEM '%s' block, found %s".formatted(label, found));
        }
        try {
            return Base64.getMimeDecoder().decode(pem.substring(start + begin.length(), stop).strip());
        } catch (IllegalArgumentException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The PEM '%s' block is not valid base64".formatted(label));
        }
    }
}
