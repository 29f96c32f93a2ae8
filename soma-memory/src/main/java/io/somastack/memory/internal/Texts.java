package io.somastack.memory.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.StorableText;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Text measures and the checks every client string passes before it reaches PostgreSQL, Lucene
 * or an embedder: no NUL (PostgreSQL cannot store it in text), no lone UTF-16 surrogate (it
 * cannot be encoded as UTF-8), and, for text that is embedded, something the embedder can read.
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

    /**
     * Whether {@code text} holds a character an embedder reads. A sentence tokenizer (MiniLM's
     * BERT WordPiece) drops whitespace, control and formatting characters (e.g. U+200B, the
     * zero-width space), combining marks, private-use characters and U+FFFD, so a text of only
     * those is empty to it.
     */
    public static boolean hasContent(String text) {
        return text.codePoints().anyMatch(Texts::isContent);
    }

    private static boolean isContent(int codePoint) {
        if (Character.isWhitespace(codePoint) || Character.isSpaceChar(codePoint) || codePoint == 0xFFFD) {
            return false;
        }
        return switch (Character.getType(codePoint)) {
            case Character.CONTROL, Character.FORMAT, Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.PRIVATE_USE,
                    Character.SURROGATE -> false;
            default -> true;
        };
    }

    /** Why {@code text} cannot be embedded, naming {@code field}, or empty when it can (storage problems first). */
    public static Optional<String> embeddingProblem(String field, String text) {
        Optional<String> storage = storageProblem(field, text);
        if (storage.isPresent()) {
            return storage;
        }
        if (text.isBlank()) {
            return Optional.of("%s must not be empty".formatted(field));
        }
        if (!hasContent(text)) {
            return Optional.of(("%s has no content the embedder can use: it holds only whitespace, control, formatting "
                    + "(such as the zero-width space U+200B) or combining characters").formatted(field));
        }
        return Optional.empty();
    }
}
