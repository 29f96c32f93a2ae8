package io.somastack.models.internal;

import io.somastack.kernel.StorableText;
import java.util.Optional;

/**
 * What an embedder can read: text without NUL or a lone UTF-16 surrogate, holding at least one
 * character a sentence tokenizer keeps. Checked before a model is asked, so bad input is a 400,
 * not a model failure.
 */
public final class EmbeddingTexts {
    private EmbeddingTexts() {
    }

    /**
     * Whether {@code text} holds a character an embedder reads. A sentence tokenizer (MiniLM's
     * BERT WordPiece) drops whitespace, control and formatting characters (e.g. U+200B, the
     * zero-width space), combining marks, private-use characters and U+FFFD, so a text of only
     * those is empty to it.
     */
    public static boolean hasContent(String text) {
        return text.codePoints().anyMatch(EmbeddingTexts::isContent);
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

    /** Why {@code text} cannot be embedded, naming {@code field}, or empty when it can (what cannot be stored first). */
    public static Optional<String> problem(String field, String text) {
        Optional<String> storage = StorableText.problem(text).map(problem -> "%s holds %s, which cannot be stored".formatted(field, problem));
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

    /** A copy of {@code vector} scaled to unit length (a zero vector stays zero), as every embedder answers. */
    public static float[] unitLength(float[] vector) {
        double sum = 0;
        for (float value : vector) {
            sum += value * value;
        }
        float[] result = vector.clone();
        if (sum == 0) {
            return result;
        }
        float norm = (float) Math.sqrt(sum);
        for (int i = 0; i < result.length; i++) {
            result[i] /= norm;
        }
        return result;
    }
}
