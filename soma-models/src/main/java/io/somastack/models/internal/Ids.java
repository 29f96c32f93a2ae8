package io.somastack.models.internal;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Random ids in OpenAI's shapes: {@code chatcmpl-...} for completions, {@code call_...} for tool calls. */
public final class Ids {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    public static String completionId() {
        return "chatcmpl-" + random(12);
    }

    public static String toolCallId() {
        return "call_" + random(12);
    }

    private static String random(int bytes) {
        byte[] value = new byte[bytes];
        RANDOM.nextBytes(value);
        return HexFormat.of().formatHex(value);
    }
}
