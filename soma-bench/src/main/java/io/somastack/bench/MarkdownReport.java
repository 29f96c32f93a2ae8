package io.somastack.bench;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Renders the benchmark's results as Markdown: the per-path table, the overhead table, the
 * highest sustained rate by a stated rule, and whether the overhead target was met. Every
 * number comes from the results passed in.
 */
final class MarkdownReport {
    static final int TARGET_RATE = 2000;
    static final double TARGET_P99_OVERHEAD_MILLIS = 1.0;
    static final double SUSTAINED_FRACTION = 0.95;
    static final double SUSTAINED_ERROR_RATIO = 0.001;
    private static final double MEBIBYTE = 1024.0 * 1024.0;

    private final BenchmarkOptions options;
    private final Machine machine;
    private final List<PhaseResult> results;

    MarkdownReport(BenchmarkOptions options, Machine machine, List<PhaseResult> results) {
        this.options = options;
        this.machine = machine;
        this.results = List.copyOf(results);
    }

    String render() {
        StringBuilder markdown = new StringBuilder();
        markdown.append("""
                ### Run of %s

                %d s measured per rate and path after %d s of warm-up at the same rate (and %d s per path at the \
                lowest rate before the first); open-loop arrivals \
                (latency from each request's scheduled start); %d keep-alive HTTP/1.1 connections per path; \
                paths alternate in order from one rate to the next. "Achieved" counts the successful answers \
                that arrived during the measured window; percentiles cover the successful requests scheduled in it; \
                "Errors" are requests scheduled in it that failed or got no answer within %d s after it.

                Machine: %d cores (`nproc`), %s, %.1f GiB RAM, %s. JDK: %s. JVM flags: %s.
                %s \
                PostgreSQL runs in its own processes. "Other CPU" is what the rest of the machine used \
                meanwhile (from `/proc/stat`); well above zero, it disturbed the run.

                """.formatted(Instant.now().truncatedTo(ChronoUnit.SECONDS), options.duration().toSeconds(),
                options.warmup().toSeconds(), options.initialWarmup().toSeconds(), options.connections(), OpenLoopLoad.DRAIN_TIMEOUT.toSeconds(), machine.cores(), machine.cpuModel(),
                machine.memoryBytes() / (MEBIBYTE * 1024), machine.operatingSystem(), machine.jdk(),
                machine.jvmArguments().isEmpty() ? "none" : "`" + String.join(" ", machine.jvmArguments()) + "`",
                options.launcher()
                        ? "SomaStack runs in its own JVM, started by `./somastack run` (the launcher's flags: ZGC, the AOT cache, the JIT at nice 5); "
                                + "the JVM flags above are the load generator's and the upstream's. \"JVM CPU\" is both JVMs;"
                        : "One JVM hosts the load generator, the upstream and SomaStack, so \"JVM CPU\" is all three;"));

        markdown.append("| Rate (req/s) | Path | Achieved (req/s) | p50 (ms) | p90 (ms) | p99 (ms) | p99.9 (ms) | max (ms) "
                + "| Errors | JVM CPU (cores) | PostgreSQL CPU (cores) | Other CPU (cores) | Heap after GC (MiB) | RSS (MiB) |\n");
        markdown.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (int rate : options.rates()) {
            for (String path : List.of(Target.DIRECT, Target.SOMASTACK)) {
                find(rate, path).ifPresent(result -> markdown.append(row(result)));
            }
        }

        markdown.append("""

                Overhead = SomaStack minus direct at the same percentile (a difference of percentiles, \
                not a percentile of differences). "Handler mean" is SomaStack's own `http.server.requests` \
                timer of the chat route: the time between its before- and after-handlers.

                | Rate (req/s) | Overhead p50 (ms) | Overhead p90 (ms) | Overhead p99 (ms) | Overhead p99.9 (ms) | Handler mean (ms) |
                |---:|---:|---:|---:|---:|---:|
                """);
        for (int rate : options.rates()) {
            Optional<PhaseResult> direct = find(rate, Target.DIRECT);
            Optional<PhaseResult> soma = find(rate, Target.SOMASTACK);
            if (direct.isEmpty() || soma.isEmpty()) {
                continue;
            }
            markdown.append("| %d | %s | %s | %s | %s | %s |\n".formatted(rate,
                    signed(overhead(direct.get(), soma.get(), 50)), signed(overhead(direct.get(), soma.get(), 90)),
                    signed(overhead(direct.get(), soma.get(), 99)), signed(overhead(direct.get(), soma.get(), 99.9)),
                    soma.get().serverMeanMillis().isPresent() ? millis(soma.get().serverMeanMillis().getAsDouble()) : "n/a"));
        }

        markdown.append("""

                Cost per call through SomaStack: CPU over the window divided by the calls answered in it. "JVM, \
                SomaStack's share" is the SomaStack path's JVM CPU per call minus the direct path's at the same \
                rate (load generator and upstream are in both). Transactions are PostgreSQL's commits and \
                rollbacks in the window (`pg_stat_database`, all databases) per call answered.

                "GC pauses" are this JVM's stop-the-world collections in SomaStack's window (%s): %s

                | Rate (req/s) | JVM CPU (ms/call) | JVM, SomaStack's share (ms/call) | PostgreSQL CPU (ms/call) | Transactions per call | GC pauses | GC pause time (ms) |
                |---:|---:|---:|---:|---:|---:|---:|
                """.formatted(new GcPauses().names(), options.launcher()
                        ? "the load generator's and the upstream's (SomaStack's own JVM runs ZGC, whose pauses are not counted here)."
                        : "the load generator, the upstream and SomaStack stop together."));
        for (int rate : options.rates()) {
            Optional<PhaseResult> direct = find(rate, Target.DIRECT);
            Optional<PhaseResult> soma = find(rate, Target.SOMASTACK);
            if (soma.isEmpty() || soma.get().load().achievedRate() <= 0) {
                continue;
            }
            double perCall = 1000.0 / soma.get().load().achievedRate();
            double jvm = soma.get().cpu().processCores() * perCall;
            String share = direct.filter(result -> result.load().achievedRate() > 0)
                    .map(result -> decimal(jvm - result.cpu().processCores() * 1000.0 / result.load().achievedRate(), 3)).orElse("n/a");
            double calls = soma.get().load().achievedRate() * options.duration().toMillis() / 1000.0;
            String transactions = soma.get().transactions().isPresent() ? decimal(soma.get().transactions().getAsLong() / calls, 2) : "n/a";
            markdown.append("| %d | %s | %s | %s | %s | %d | %d |\n".formatted(rate, decimal(jvm, 3), share,
                    decimal(soma.get().cpu().postgresCores() * perCall, 3), transactions, soma.get().gcPauses(), soma.get().gcPauseMillis()));
        }

        markdown.append("""

                Sustained rule: a rate is sustained when the achieved rate is at least %.0f%% of the target, \
                at most %.1f%% of the requests failed, and p99 stays under %s ms.

                """.formatted(SUSTAINED_FRACTION * 100, SUSTAINED_ERROR_RATIO * 100, millis(options.p99LimitMillis())));
        markdown.append("- Highest sustained rate through SomaStack: %s.\n".formatted(highestSustained(Target.SOMASTACK)));
        markdown.append("- Highest sustained rate direct to the upstream: %s.\n".formatted(highestSustained(Target.DIRECT)));
        markdown.append("- Target, p99 overhead at most %s ms at %d req/s: %s.\n".formatted(millis(TARGET_P99_OVERHEAD_MILLIS),
                TARGET_RATE, targetVerdict()));
        String errors = results.stream().filter(result -> result.load().errorCount() > 0)
                .map(result -> "  - %d req/s %s: %s".formatted(result.load().rate(), result.load().target().name(),
                        result.load().errors().entrySet().stream().map(entry -> "%s × %d".formatted(entry.getKey(), entry.getValue()))
                                .collect(Collectors.joining(", "))))
                .collect(Collectors.joining("\n"));
        if (!errors.isEmpty()) {
            markdown.append("- Errors by kind:\n").append(errors).append('\n');
        }
        return markdown.toString();
    }

    private String row(PhaseResult result) {
        LoadResult load = result.load();
        return "| %d | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s | %s | %s | %s |\n".formatted(load.rate(),
                load.target().name(), decimal(load.achievedRate(), 0), millis(load.percentileMillis(50)),
                millis(load.percentileMillis(90)), millis(load.percentileMillis(99)), millis(load.percentileMillis(99.9)),
                millis(load.maxMillis()), load.errorCount(), decimal(result.cpu().processCores(), 2),
                decimal(result.cpu().postgresCores(), 2), decimal(result.cpu().otherCores(), 2),
                decimal(result.memory().heapUsedAfterGcBytes() / MEBIBYTE, 0), decimal(result.memory().residentBytes() / MEBIBYTE, 0));
    }

    private String highestSustained(String path) {
        List<Integer> tried = results.stream().filter(result -> result.load().target().name().equals(path))
                .map(result -> result.load().rate()).sorted().toList();
        Optional<PhaseResult> best = results.stream()
                .filter(result -> result.load().target().name().equals(path))
                .filter(this::sustained)
                .max((left, right) -> Integer.compare(left.load().rate(), right.load().rate()));
        if (best.isEmpty()) {
            return "none of the rates tried (%s req/s)".formatted(tried);
        }
        LoadResult load = best.get().load();
        return "**%d req/s** (achieved %s req/s, p99 %s ms; rates tried: %s)".formatted(load.rate(),
                decimal(load.achievedRate(), 0), millis(load.percentileMillis(99)), tried);
    }

    boolean sustained(PhaseResult result) {
        LoadResult load = result.load();
        return load.achievedRate() >= SUSTAINED_FRACTION * load.rate()
                && load.errorCount() <= SUSTAINED_ERROR_RATIO * load.scheduled()
                && load.percentileMillis(99) < options.p99LimitMillis();
    }

    private String targetVerdict() {
        Optional<PhaseResult> direct = find(TARGET_RATE, Target.DIRECT);
        Optional<PhaseResult> soma = find(TARGET_RATE, Target.SOMASTACK);
        if (direct.isEmpty() || soma.isEmpty()) {
            return "not measured in this run";
        }
        double overhead = overhead(direct.get(), soma.get(), 99);
        boolean met = overhead <= TARGET_P99_OVERHEAD_MILLIS && sustained(soma.get());
        return "**%s** (measured p99 overhead %s ms)".formatted(met ? "met" : "not met", signed(overhead));
    }

    private Optional<PhaseResult> find(int rate, String path) {
        return results.stream().filter(result -> result.load().rate() == rate && result.load().target().name().equals(path)).findFirst();
    }

    private static double overhead(PhaseResult direct, PhaseResult soma, double percentile) {
        return soma.load().percentileMillis(percentile) - direct.load().percentileMillis(percentile);
    }

    private static String millis(double value) {
        return decimal(value, value >= 100 ? 1 : 3);
    }

    private static String signed(double value) {
        return (value >= 0 ? "+" : "") + millis(value);
    }

    private static String decimal(double value, int places) {
        return String.format(Locale.ROOT, "%,." + places + "f", value);
    }
}
