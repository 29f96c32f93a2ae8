package io.somastack.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The command line of {@link MemoryRecallBenchmark}, validated on the way in: either the
 * one-shot form {@code [sizes] [queries]} on a fresh temporary data directory, or one phase
 * of the split form on a kept data directory ({@code --data-dir DIR --seed-only --size N},
 * then {@code --data-dir DIR --measure-only [--queries Q]}).
 *
 * @param sizes memory counts to seed and measure, in order (one-shot), or the one count to seed up to (seed-only)
 * @param queries timed recalls per mode, at most {@link RecallTexts#MAX_QUERIES}
 * @param dataDirectory the kept data directory of the split form
 * @param phase which phases run: both (one-shot), seeding only or measuring only
 */
record MemoryRecallOptions(List<Integer> sizes, int queries, Optional<Path> dataDirectory, Phase phase) {

    enum Phase { SEED_AND_MEASURE, SEED_ONLY, MEASURE_ONLY }

    static final String USAGE = """
            Usage: MemoryRecallBenchmark [sizes] [queries]                      e.g. 10000,100000 200 (fresh data directory, deleted after)
                   MemoryRecallBenchmark --data-dir DIR --seed-only --size N   remember texts until DIR holds N memories (resumable)
                   MemoryRecallBenchmark --data-dir DIR --measure-only [--queries 200]   time recalls on DIR as it is""";

    MemoryRecallOptions {
        sizes = List.copyOf(sizes);
        List<String> problems = new ArrayList<>();
        if (phase != Phase.MEASURE_ONLY && (sizes.isEmpty() || sizes.stream().anyMatch(size -> size < 1))) {
            problems.add("sizes must be positive memory counts, not " + sizes);
        }
        if (phase == Phase.SEED_ONLY && sizes.size() != 1) {
            problems.add("--seed-only takes one --size");
        }
        if (queries < 1 || queries > RecallTexts.MAX_QUERIES) {
            problems.add("queries must be between 1 and %d, not %d".formatted(RecallTexts.MAX_QUERIES, queries));
        }
        if (phase == Phase.SEED_AND_MEASURE && (long) sizes.size() * queries > RecallTexts.MAX_QUERIES) {
            problems.add("each size gets its own queries: %d sizes × %d queries exceed the %d held out per mode".formatted(sizes.size(), queries,
                    RecallTexts.MAX_QUERIES));
        }
        if (phase != Phase.SEED_AND_MEASURE && dataDirectory.isEmpty()) {
            problems.add("--seed-only and --measure-only need --data-dir");
        }
        if (phase == Phase.SEED_AND_MEASURE && dataDirectory.isPresent()) {
            problems.add("--data-dir needs --seed-only or --measure-only");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems) + "\n" + USAGE);
        }
    }

    static MemoryRecallOptions parse(List<String> arguments) {
        List<Integer> sizes = List.of(10_000);
        int queries = 200;
        Optional<Path> dataDirectory = Optional.empty();
        Phase phase = Phase.SEED_AND_MEASURE;
        List<String> positional = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (int index = 0; index < arguments.size(); index++) {
            String argument = arguments.get(index);
            try {
                switch (argument) {
                    case "--seed-only" -> phase = phase == Phase.MEASURE_ONLY ? fail("--seed-only and --measure-only exclude each other") : Phase.SEED_ONLY;
                    case "--measure-only" -> phase = phase == Phase.SEED_ONLY ? fail("--seed-only and --measure-only exclude each other") : Phase.MEASURE_ONLY;
                    case "--data-dir" -> dataDirectory = Optional.of(Path.of(value(arguments, ++index, argument)));
                    case "--size" -> sizes = sizes(value(arguments, ++index, argument));
                    case "--queries" -> queries = Integer.parseInt(value(arguments, ++index, argument).replace("_", ""));
                    default -> {
                        if (argument.startsWith("--")) {
                            problems.add("unknown option " + argument);
                        } else {
                            positional.add(argument);
                        }
                    }
                }
            } catch (RuntimeException e) {
                problems.add("%s: %s".formatted(argument, e.getMessage()));
            }
        }
        try {
            if (!positional.isEmpty()) {
                sizes = sizes(positional.get(0));
            }
            if (positional.size() > 1) {
                queries = Integer.parseInt(positional.get(1));
            }
            if (positional.size() > 2) {
                problems.add("too many arguments: " + positional);
            }
        } catch (NumberFormatException e) {
            problems.add("not a number: " + e.getMessage());
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems) + "\n" + USAGE);
        }
        return new MemoryRecallOptions(sizes, queries, dataDirectory, phase);
    }

    private static List<Integer> sizes(String text) {
        return Arrays.stream(text.split(",")).map(size -> Integer.parseInt(size.strip().replace("_", ""))).toList();
    }

    private static String value(List<String> arguments, int index, String flag) {
        if (index >= arguments.size()) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return arguments.get(index);
    }

    private static Phase fail(String problem) {
        throw new IllegalArgumentException(problem);
    }
}
