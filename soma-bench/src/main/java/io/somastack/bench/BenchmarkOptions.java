package io.somastack.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The command line of {@link GatewayOverheadBenchmark}, validated on the way in.
 *
 * @param rates target arrival rates in requests per second, run in this order
 * @param duration measured time per rate and path
 * @param warmup unmeasured time at the same rate before each measured window
 * @param initialWarmup unmeasured time per path at the lowest rate before the first rate, so that
 *     the JIT has compiled both paths before anything is measured
 * @param connections keep-alive connections of the load generator per path
 * @param p99LimitMillis the SomaStack p99 a rate must stay under to count as sustained
 * @param output where the Markdown report is written
 * @param launcher SomaStack in its own process started by the {@code somastack} launcher of
 *     this checkout (its JVM flags, ZGC and AOT cache), instead of in this JVM
 */
record BenchmarkOptions(List<Integer> rates, Duration duration, Duration warmup, Duration initialWarmup, int connections,
        double p99LimitMillis, Path output, boolean launcher) {

    static final String USAGE = """
            Usage: GatewayOverheadBenchmark [--rates 500,2000,5000] [--duration 60s] [--warmup 10s] [--initial-warmup 30s]
                                            [--connections 128] [--p99-limit-ms 50] [--output FILE] [--server in-process]
              --rates         target arrival rates in requests per second (default 500,2000,5000)
              --duration      measured time per rate and path: 60, 60s or 2m (default 60s)
              --warmup        unmeasured time at the same rate before each measured window (default 10s)
              --initial-warmup  unmeasured time per path at the lowest rate before the first one (default 30s)
              --connections   keep-alive connections of the load generator per path (default 128)
              --p99-limit-ms  SomaStack p99 a rate must stay under to count as sustained (default 50)
              --output        Markdown report (default soma-bench/target/gateway-overhead.md)
              --server        in-process: SomaStack in this JVM, beside the load generator and the upstream (default);
                              launcher: SomaStack in its own process, started by ./somastack run of this checkout
                              (run from the repository root), as a user runs it""";

    BenchmarkOptions {
        rates = List.copyOf(rates);
        List<String> problems = new ArrayList<>();
        if (rates.isEmpty() || rates.stream().anyMatch(rate -> rate <= 0 || rate > 1_000_000)) {
            problems.add("--rates must be a comma list of rates between 1 and 1000000, not " + rates);
        }
        if (duration.isNegative() || duration.isZero()) {
            problems.add("--duration must be positive");
        }
        if (warmup.isNegative() || initialWarmup.isNegative()) {
            problems.add("--warmup and --initial-warmup must not be negative");
        }
        if (connections < 1 || connections > 10_000) {
            problems.add("--connections must be between 1 and 10000");
        }
        if (!(p99LimitMillis > 0)) {
            problems.add("--p99-limit-ms must be positive");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems));
        }
    }

    /** Parses the arguments; unknown flags and bad values fail with every problem listed. */
    static BenchmarkOptions parse(List<String> arguments) {
        List<Integer> rates = List.of(500, 2000, 5000);
        Duration duration = Duration.ofSeconds(60);
        Duration warmup = Duration.ofSeconds(10);
        Duration initialWarmup = Duration.ofSeconds(30);
        int connections = 128;
        double p99LimitMillis = 50;
        Path output = defaultOutput();
        boolean launcher = false;
        List<String> problems = new ArrayList<>();
        for (int index = 0; index < arguments.size(); index++) {
            String flag = arguments.get(index);
            String name = flag.contains("=") ? flag.substring(0, flag.indexOf('=')) : flag;
            String value;
            if (flag.contains("=")) {
                value = flag.substring(flag.indexOf('=') + 1);
            } else if (index + 1 < arguments.size()) {
                value = arguments.get(++index);
            } else {
                problems.add(name + " needs a value");
                break;
            }
            try {
                switch (name) {
                    case "--rates" -> rates = Arrays.stream(value.split(",")).map(String::trim).filter(text -> !text.isEmpty())
                            .map(Integer::parseInt).toList();
                    case "--duration" -> duration = parseDuration(value);
                    case "--warmup" -> warmup = parseDuration(value);
                    case "--initial-warmup" -> initialWarmup = parseDuration(value);
                    case "--connections" -> connections = Integer.parseInt(value.trim());
                    case "--p99-limit-ms" -> p99LimitMillis = Double.parseDouble(value.trim());
                    case "--output" -> output = Path.of(value);
                    case "--server" -> launcher = switch (value.trim()) {
                        case "in-process" -> false;
                        case "launcher" -> true;
                        default -> throw new IllegalArgumentException("must be in-process or launcher");
                    };
                    default -> problems.add("unknown option " + name);
                }
            } catch (RuntimeException e) {
                problems.add("%s '%s' is not valid: %s".formatted(name, value, e.getMessage()));
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems));
        }
        if (launcher && !Files.isExecutable(Path.of("somastack"))) {
            throw new IllegalArgumentException("--server launcher runs ./somastack: start the benchmark from the repository root");
        }
        return new BenchmarkOptions(rates, duration, warmup, initialWarmup, connections, p99LimitMillis, output, launcher);
    }

    /** Seconds as {@code 60}, {@code 60s}, {@code 500ms} or {@code 2m}. */
    static Duration parseDuration(String text) {
        String value = text.trim().toLowerCase(Locale.ROOT);
        if (value.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
        }
        if (value.endsWith("s")) {
            return Duration.ofSeconds(Long.parseLong(value.substring(0, value.length() - 1)));
        }
        if (value.endsWith("m")) {
            return Duration.ofMinutes(Long.parseLong(value.substring(0, value.length() - 1)));
        }
        return Duration.ofSeconds(Long.parseLong(value));
    }

    /** The module's target directory, whether started from the repository root or from soma-bench. */
    private static Path defaultOutput() {
        Path module = Files.isDirectory(Path.of("soma-bench")) ? Path.of("soma-bench") : Path.of("");
        return module.resolve("target").resolve("gateway-overhead.md");
    }
}
