package io.somastack.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Real English text for memory benchmarks: the one-line package descriptions that
 * {@code apt-cache dumpavail} prints (about 60,000 distinct lines on Debian 12), shuffled
 * with a fixed seed so every run sees the same order.
 */
final class AptDescriptions {
    private AptDescriptions() {
    }

    static List<String> load() {
        Set<String> lines = new LinkedHashSet<>();
        try {
            Process process = new ProcessBuilder("apt-cache", "dumpavail").redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            process.waitFor();
            for (String line : output.split("\n")) {
                if (line.startsWith("Description: ") || line.startsWith("Description-en: ")) {
                    String text = line.substring(line.indexOf(':') + 1).strip();
                    if (text.length() >= 20 && text.length() <= 300) {
                        lines.add(text);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("apt-cache dumpavail failed: the memory benchmark needs Debian's package lists", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        List<String> shuffled = new ArrayList<>(lines);
        Collections.shuffle(shuffled, new Random(42));
        return shuffled;
    }
}
