package io.somastack.memory.internal;

import java.nio.charset.StandardCharsets;

/** Text measures used by validation and the quota. */
public final class Texts {
    private Texts() {
    }

    /** The UTF-8 length of {@code text}, the unit of the text limit and the byte quota. */
    public static int bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }
}
