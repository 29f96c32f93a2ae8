package io.somastack.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The texts of the memory recall benchmark, in the order they are remembered: apt package
 * descriptions, the JDK's Javadoc sentences and {@link DebianDocTexts}, each text once (exactly
 * and case-insensitively), shuffled together with a fixed seed. The last
 * {@link #RESERVED} texts are never remembered: the warm-up recalls, then
 * {@link #MAX_QUERIES} held-out queries per mode. A kept data directory stores the order it
 * was seeded with ({@value #FILE}), so resuming and measuring use the same texts and queries
 * even if the sources change meanwhile (an {@code apt-get update}, another JDK).
 */
final class RecallTexts {
    static final String FILE = "benchmark-texts.txt";
    static final int MAX_QUERIES = 1_000;
    static final int WARMUP = 300;
    static final int MODES = 3;
    static final int RESERVED = WARMUP + MODES * MAX_QUERIES;

    private final List<String> all;

    private RecallTexts(List<String> all) {
        if (all.size() <= RESERVED) {
            throw new IllegalStateException("only %,d texts, fewer than the %,d held out".formatted(all.size(), RESERVED));
        }
        this.all = List.copyOf(all);
    }

    /** All sources, mixed, with the count each contributed printed. */
    static RecallTexts mixed() {
        Map<String, List<String>> sources = new LinkedHashMap<>();
        sources.put("apt package descriptions", AptDescriptions.load());
        sources.put("JDK Javadoc sentences", JdkDocSentences.load());
        for (DebianDocTexts.Text text : DebianDocTexts.load()) {
            sources.computeIfAbsent("Debian documentation", name -> new ArrayList<>()).add(text.text());
        }
        return new RecallTexts(mixed(sources));
    }

    /** Each text of every source once (the first source keeps a text found twice), shuffled with seed 42. */
    static List<String> mixed(Map<String, List<String>> sources) {
        Set<String> seen = new HashSet<>();
        List<String> texts = new ArrayList<>();
        for (Map.Entry<String, List<String>> source : sources.entrySet()) {
            int kept = 0;
            for (String text : source.getValue()) {
                if (seen.add(text.toLowerCase(Locale.ROOT))) {
                    texts.add(text);
                    kept++;
                }
            }
            System.out.printf("%,10d distinct texts from %s%n", kept, source.getKey());
        }
        System.out.printf("%,10d distinct texts in all%n", texts.size());
        Collections.shuffle(texts, new Random(42));
        return texts;
    }

    /** The order stored in {@code dataDirectory}, or a new mix stored there first. */
    static RecallTexts in(Path dataDirectory) {
        Path file = dataDirectory.resolve(FILE);
        try {
            if (Files.exists(file)) {
                List<String> texts = Files.readAllLines(file);
                System.out.printf("%,d texts in the order %s was seeded with (%s)%n", texts.size(), dataDirectory, file.getFileName());
                return new RecallTexts(texts);
            }
            RecallTexts texts = mixed();
            Files.createDirectories(dataDirectory);
            Path partial = file.resolveSibling(FILE + ".partial");
            Files.write(partial, texts.all);
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE);
            return texts;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read or write " + file, e);
        }
    }

    int size() {
        return all.size();
    }

    /** The texts that may be remembered, in order; text {@code i} is remembered with provenance reference {@code text:i}. */
    List<String> pool() {
        return all.subList(0, all.size() - RESERVED);
    }

    List<String> warmup() {
        return all.subList(all.size() - RESERVED, all.size() - RESERVED + WARMUP);
    }

    /**
     * {@code count} held-out queries of the mode numbered {@code mode} (0 to {@link #MODES} - 1), the
     * {@code round}-th set of them: each size of a one-shot run gets queries of its own, so none finds
     * its vector in the server's query cache from an earlier size.
     */
    List<String> queries(int mode, int count, int round) {
        if ((round + 1) * count > MAX_QUERIES) {
            throw new IllegalArgumentException("%d rounds of %d queries exceed the %d held out per mode".formatted(round + 1, count, MAX_QUERIES));
        }
        int first = all.size() - MODES * MAX_QUERIES + mode * MAX_QUERIES + round * count;
        return all.subList(first, first + count);
    }
}
