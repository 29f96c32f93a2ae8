package io.somastack.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What counts as a real text for the memory benchmarks: prose of 20-1,000 characters with
 * whitespace normalized, split into sentences where the source is running prose. Kept texts
 * read as prose: at least four words, letters for at least 80% of the other characters, no
 * characters of markup or code ({@code < > { } | \ =}), and no word list (at least half the
 * words are not capitalized or numeric). In sentence mode a text also starts with a capital,
 * digit or quote and ends with a full stop, question or exclamation mark (a closing quote or
 * bracket may follow).
 */
final class ProseSentences {
    static final int MINIMUM_LENGTH = 20;
    static final int MAXIMUM_LENGTH = 1_000;
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?]|[.!?][\"')\\]\u201d])\\s+(?=[\"'(\\[\u201c]?[A-Z0-9])");
    private static final Pattern SENTENCE = Pattern.compile("^[\"'(\\[\u201c]?[A-Z0-9].*[.!?][\"')\\]\u201d]?$");
    private static final Pattern CODE = Pattern.compile("[<>{}|\\\\=]|::|->|\\(\\)|\\bhttps?:|www\\.|\\.\\.\\.\\.|&[A-Za-z]+;");

    private ProseSentences() {
    }

    /** The kept sentences of a paragraph of running prose. */
    static List<String> sentences(String paragraph) {
        List<String> kept = new ArrayList<>();
        for (String sentence : SENTENCE_END.split(normalize(paragraph))) {
            if (isProse(sentence, true)) {
                kept.add(sentence);
            }
        }
        return kept;
    }

    /** The whole text, normalized, if it is prose of the allowed length (fragment mode: any start and end). */
    static List<String> whole(String text, boolean sentence) {
        String normalized = normalize(text);
        return isProse(normalized, sentence) ? List.of(normalized) : List.of();
    }

    static String normalize(String text) {
        return WHITESPACE.matcher(text).replaceAll(" ").strip();
    }

    static boolean isProse(String text, boolean sentence) {
        if (text.length() < MINIMUM_LENGTH || text.length() > MAXIMUM_LENGTH || CODE.matcher(text).find()) {
            return false;
        }
        if (sentence && !SENTENCE.matcher(text).matches()) {
            return false;
        }
        String[] words = text.split(" ");
        if (words.length < 4) {
            return false;
        }
        int letters = 0;
        int others = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isLetter(c)) {
                letters++;
            } else if (c != ' ') {
                others++;
            }
        }
        if (letters < 4 * others) {
            return false;
        }
        int plain = 0;
        for (String word : words) {
            plain += !word.isEmpty() && Character.isLowerCase(word.charAt(0)) ? 1 : 0;
        }
        return plain * 2 >= words.length;
    }
}
