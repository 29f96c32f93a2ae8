package io.somastack.memory.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.StorableText;
import io.somastack.models.Embedders;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Text measures and the checks every client string passes before it reaches PostgreSQL, Lucene
 * or an embedder: no NUL (PostgreSQL cannot store it in text), no lone UTF-16 surrogate (it
 * cannot be encoded as UTF-8), and, for text that is embedded, something the embedder can read
 * (soma-models' rule, {@link Embedders#contentProblem}).
 */
public final class Texts {
    private Texts() {
    }

    /** The UTF-8 length of {@code text}, the unit of the text limit and the byte quota. */
    public static int bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }

    /**
     * Why {@code text} cannot be stored, naming {@code field} ("text must not contain NUL
     * (U+0000) ..."), or empty when it can.
     */
    public static Optional<String> storageProblem(String field, String text) {
        return StorableText.problem(text).map(problem -> "%s holds %s, which cannot be stored".formatted(field, problem));
    }

    /** Throws {@link ErrorCode#INVALID_REQUEST} naming {@code field} when {@code text} cannot be stored. */
    public static String requireStorable(String field, String text) {
        storageProblem(field, text).ifPresent(problem -> {
            throw new SomaException(ErrorCode.INVALID_REQUEST, problem);
        });
        return text;
    }

    /** Why {@code text} cannot be embedded, naming {@code field}, or empty when it can (the embedders' own rule). */
    public static Optional<String> embeddingProblem(String field, String text) {
        return Embedders.contentProblem(field, text);
    }
}
