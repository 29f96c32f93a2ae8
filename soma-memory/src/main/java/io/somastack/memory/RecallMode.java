package io.somastack.memory;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.Locale;

/**
 * How a recall ranks: by embedding similarity ({@code VECTOR}, score = cosine), by BM25 over
 * the text ({@code KEYWORD}, score = BM25), or both fused by reciprocal rank fusion
 * ({@code HYBRID}, score = sum of 1/(60 + rank)).
 */
public enum RecallMode {
    HYBRID,
    VECTOR,
    KEYWORD;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static RecallMode parse(String text) {
        for (RecallMode mode : values()) {
            if (mode.wireName().equals(text)) {
                return mode;
            }
        }
        throw new SomaException(ErrorCode.INVALID_REQUEST, "Unknown mode '%s'; use hybrid, vector or keyword".formatted(text));
    }
}
