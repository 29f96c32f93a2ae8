package io.somastack.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Real English text for memory benchmarks: the sentences of the Javadoc comments in the JDK's
 * own sources ({@code lib/src.zip} of the running JDK). Each {@code /** ... *}{@code /} comment
 * loses its block tags ({@code @param}, {@code @return}, ...), code blocks and HTML; inline tags
 * keep their text ({@code {@code x}} becomes {@code x}, a link its label or member name); the rest
 * is split into sentences, of which those of 40-300 characters that start with a capital and end
 * with a full stop are kept, each once, shuffled with a fixed seed.
 */
final class JdkDocSentences {
    private static final Pattern COMMENT = Pattern.compile("/\\*\\*(.*?)\\*/", Pattern.DOTALL);
    private static final Pattern PRE = Pattern.compile("(?is)<pre>.*?</pre>");
    private static final Pattern TAG = Pattern.compile("<[^>]*>");
    private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?])\\s+(?=[A-Z])");
    private static final Pattern KEEP = Pattern.compile("^[A-Z][^<>{}@\\\\]{38,298}\\.$");

    private JdkDocSentences() {
    }

    static List<String> load() {
        Path sources = Path.of(System.getProperty("java.home"), "lib", "src.zip");
        if (!Files.exists(sources)) {
            throw new IllegalStateException("%s is missing: the memory benchmark needs a JDK with its sources".formatted(sources));
        }
        Set<String> sentences = new LinkedHashSet<>();
        try (ZipFile zip = new ZipFile(sources.toFile())) {
            List<? extends ZipEntry> entries = zip.stream().filter(entry -> entry.getName().endsWith(".java")).toList();
            for (ZipEntry entry : entries) {
                String source = new String(zip.getInputStream(entry).readAllBytes(), StandardCharsets.UTF_8);
                Matcher comment = COMMENT.matcher(source);
                while (comment.find()) {
                    sentences.addAll(sentences(comment.group(1)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + sources, e);
        }
        List<String> shuffled = new ArrayList<>(sentences);
        Collections.shuffle(shuffled, new Random(42));
        return shuffled;
    }

    /** The kept sentences of one comment's body (without its delimiters). */
    static List<String> sentences(String comment) {
        StringBuilder prose = new StringBuilder();
        for (String line : comment.split("\n")) {
            String text = line.strip();
            if (text.startsWith("*")) {
                text = text.substring(1).strip();
            }
            if (text.startsWith("@")) {
                break;
            }
            prose.append(text).append(' ');
        }
        String text = TAG.matcher(PRE.matcher(inlineTags(prose.toString())).replaceAll(" ")).replaceAll(" ");
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&nbsp;", " ").replace("&amp;", "&")
                .replaceAll("\\s+", " ").strip();
        List<String> kept = new ArrayList<>();
        for (String sentence : SENTENCE_END.split(text)) {
            if (KEEP.matcher(sentence).matches()) {
                kept.add(sentence);
            }
        }
        return kept;
    }

    /** Replaces each {@code {@tag content}} (braces may nest) with the text a reader sees. */
    private static String inlineTags(String text) {
        StringBuilder out = new StringBuilder(text.length());
        int i = 0;
        while (i < text.length()) {
            int start = text.indexOf("{@", i);
            if (start < 0) {
                out.append(text, i, text.length());
                break;
            }
            out.append(text, i, start);
            int depth = 0;
            int end = start;
            for (; end < text.length(); end++) {
                char c = text.charAt(end);
                depth += c == '{' ? 1 : c == '}' ? -1 : 0;
                if (depth == 0) {
                    break;
                }
            }
            if (end >= text.length()) {
                break;
            }
            out.append(visible(text.substring(start + 2, end)));
            i = end + 1;
        }
        return out.toString();
    }

    private static String visible(String tag) {
        int space = tag.indexOf(' ');
        String name = space < 0 ? tag : tag.substring(0, space);
        String content = space < 0 ? "" : tag.substring(space + 1).strip();
        if (!name.equals("link") && !name.equals("linkplain")) {
            return name.equals("inheritDoc") ? "" : content;
        }
        int label = content.indexOf(' ', content.indexOf(')') < 0 ? 0 : content.indexOf(')'));
        if (label > 0) {
            return content.substring(label + 1).strip();
        }
        String target = content.contains("#") ? content.substring(content.indexOf('#') + 1) : content;
        target = target.contains("(") ? target.substring(0, target.indexOf('(')) : target;
        return target.substring(target.lastIndexOf('.') + 1);
    }
}
