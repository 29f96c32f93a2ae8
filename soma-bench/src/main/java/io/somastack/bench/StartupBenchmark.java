package io.somastack.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.DoubleSummaryStatistics;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.DoubleStream;

/**
 * Start-up as the launcher runs it: {@code ./somastack run} on a data directory that has
 * started before, timed from launching the process until {@code /readyz} answers 200, then
 * stopped with SIGTERM. The arms alternate, so all see the same machine:
 * <ul>
 * <li>without launch directories: this repository's launcher with its AOT cache and without it
 *     ({@code SOMASTACK_AOT=off});
 * <li>with launch directories (repository roots, e.g. a worktree of main and this branch): each
 *     one's launcher with its AOT cache, each on its own data directory. {@code DIR::OPTIONS}
 *     adds JVM options through the launcher's {@code SOMA_JAVA_OPTS} (e.g.
 *     {@code .::-XX:TieredStopAtLevel=1}: the same launcher without the C2 compiler).
 * </ul>
 * The first launch of each arm (untimed) builds if needed, trains the AOT cache and fills the
 * data directory. Each run also reads, when {@code /readyz} first answers 200, the CPU time the
 * server's JVM had used (user and system, from {@code /proc}), split into its JIT compiler
 * threads, its garbage collector's threads and the rest (every other thread, including the ones
 * that had ended): on a machine whose cores start-up keeps busy, that CPU over the core count is
 * the floor of the start-up's wall time. After the runs, the server's own step log ("Start-up:
 * ... at N ms") of each arm's last run is printed beside the table.
 * Usage (from the repository root): {@code java ... io.somastack.bench.StartupBenchmark [runs] [launch-dir[::jvm-options] ...]}.
 */
public final class StartupBenchmark {
    private static final Duration LIMIT = Duration.ofMinutes(5);
    private static final Pattern STEP = Pattern.compile("Start-up: (.+?) at (-?\\d+) ms");
    private static final Pattern LISTENING = Pattern.compile("SomaStack listening on .* in (\\d+) ms");

    /** Linux's clock ticks per second in a thread's {@code /proc/<pid>/task/<tid>/stat}. */
    private static final double TICKS_PER_SECOND = 100;

    /** One way of launching: a repository root whose {@code ./somastack} runs, with the AOT cache or not, with extra JVM options or none. */
    private record Arm(String label, Path root, boolean aot, String javaOptions, Path data, Path log) {
    }

    /** One timed launch: to ready, and the JVM's CPU seconds by then (JIT compiler threads, GC threads, the rest). */
    private record Launch(long nanos, double jit, double gc, double other) {
        double cpu() {
            return jit + gc + other;
        }

        double seconds() {
            return nanos / 1e9;
        }
    }

    private StartupBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int runs = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 5;
        Path work = Files.createTempDirectory("soma-startup");
        List<Arm> arms = new ArrayList<>();
        if (arguments.length <= 1) {
            Path root = Path.of("").toAbsolutePath();
            arms.add(new Arm("with the launcher's AOT cache", root, true, "", work.resolve("data"), work.resolve("with.log")));
            arms.add(new Arm("without it (SOMASTACK_AOT=off)", root, false, "", work.resolve("data"), work.resolve("without.log")));
        } else {
            for (int index = 1; index < arguments.length; index++) {
                String[] spec = arguments[index].split("::", 2);
                Path root = Path.of(spec[0]).toAbsolutePath().normalize();
                String options = spec.length > 1 ? spec[1].strip() : "";
                String label = "%s (%s)%s".formatted(root.getFileName(), commit(root), options.isEmpty() ? "" : " " + options);
                arms.add(new Arm(label, root, true, options, work.resolve("data-" + index), work.resolve("arm-" + index + ".log")));
            }
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(200)).build();
        String started = Instant.now().toString();
        String loadAtStart = Machine.loadAverage();
        for (Arm arm : arms) {
            if (arm.aot() || arms.size() == 1) {
                System.out.printf("warm-up launch of %s (build, AOT training, first start): %.2f s%n", arm.label(), launch(http, arm).nanos() / 1e9);
            }
        }
        Map<Arm, List<Launch>> launches = new LinkedHashMap<>();
        arms.forEach(arm -> launches.put(arm, new ArrayList<>()));
        for (int run = 0; run < runs; run++) {
            StringBuilder line = new StringBuilder("run %d:".formatted(run + 1));
            for (Arm arm : arms) {
                Launch launch = launch(http, arm);
                launches.get(arm).add(launch);
                line.append(" %.2f s (JVM CPU %.2f s) %s;".formatted(launch.nanos() / 1e9, launch.cpu(), arm.label()));
            }
            System.out.println(line);
        }
        StringBuilder report = new StringBuilder("""
                Run started %s, load average %s at the start, %s at the end; %s

                | launch to /readyz 200 | min s | median s | max s | runs | target | JVM CPU by ready, median s: all (JIT / GC / rest) | that CPU over %d cores, s |
                |---|---:|---:|---:|---:|---:|---:|---:|
                """.formatted(started, loadAtStart, Machine.loadAverage(), MemoryRecallBenchmark.describe(Machine.current()),
                Runtime.getRuntime().availableProcessors()));
        launches.forEach((arm, values) -> {
            DoubleSummaryStatistics seconds = values.stream().mapToDouble(Launch::seconds).summaryStatistics();
            double cpu = median(values.stream().mapToDouble(Launch::cpu));
            report.append("| %s | %.2f | %.2f | %.2f | %d | <= 2 s | %.2f (%.2f / %.2f / %.2f) | %.2f |%n".formatted(arm.label(), seconds.getMin(),
                    median(values.stream().mapToDouble(Launch::seconds)), seconds.getMax(), seconds.getCount(), cpu, median(values.stream().mapToDouble(Launch::jit)),
                    median(values.stream().mapToDouble(Launch::gc)), median(values.stream().mapToDouble(Launch::other)),
                    cpu / Runtime.getRuntime().availableProcessors()));
        });
        report.append(steps(arms));
        System.out.println(report);
        Files.writeString(Path.of("soma-bench/target/startup.md"), report);
    }

    /** The upper median (of an even count, the larger of the middle two). */
    private static double median(DoubleStream values) {
        double[] sorted = values.sorted().toArray();
        return sorted[sorted.length / 2];
    }

    /** The step log of each arm's last run, one column per arm. */
    private static String steps(List<Arm> arms) throws IOException {
        Map<String, Map<Arm, String>> rows = new LinkedHashMap<>();
        for (Arm arm : arms) {
            for (String line : Files.readAllLines(arm.log(), StandardCharsets.UTF_8)) {
                Matcher step = STEP.matcher(line);
                Matcher listening = LISTENING.matcher(line);
                if (step.find()) {
                    rows.computeIfAbsent(step.group(1), name -> new LinkedHashMap<>()).put(arm, step.group(2));
                } else if (listening.find()) {
                    rows.computeIfAbsent("listening", name -> new LinkedHashMap<>()).put(arm, listening.group(1));
                }
            }
        }
        StringBuilder table = new StringBuilder("\nIn-process step log of each arm's last run (ms from the start of SomaServer.build):\n\n| step |");
        arms.forEach(arm -> table.append(" ").append(arm.label()).append(" |"));
        table.append("\n|---|").append("---:|".repeat(arms.size())).append("\n");
        rows.forEach((step, values) -> {
            table.append("| ").append(step).append(" |");
            arms.forEach(arm -> table.append(" ").append(values.getOrDefault(arm, "")).append(" |"));
            table.append("\n");
        });
        return table.toString();
    }

    private static String commit(Path root) throws IOException, InterruptedException {
        Process git = new ProcessBuilder("git", "-C", root.toString(), "rev-parse", "--short", "HEAD").redirectErrorStream(true).start();
        String commit = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        return git.waitFor() == 0 ? commit : "not a git checkout";
    }

    /** Launches the server, returns how long it took to be ready and the CPU its JVM had used by then, and stops it. */
    private static Launch launch(HttpClient http, Arm arm) throws IOException, InterruptedException {
        int port = SomaStackInstance.freeLoopbackPort();
        List<String> command = List.of(arm.root().resolve("somastack").toString(), "run", "--port", Integer.toString(port), "--data-dir",
                arm.data().toString());
        ProcessBuilder builder = new ProcessBuilder(command).directory(arm.root().toFile()).redirectErrorStream(true)
                .redirectOutput(arm.log().toFile());
        builder.environment().put("SOMASTACK_AOT", arm.aot() ? "on" : "off");
        if (!arm.javaOptions().isEmpty()) {
            builder.environment().put("SOMA_JAVA_OPTS", arm.javaOptions());
        }
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).timeout(Duration.ofSeconds(1)).build();
        long start = System.nanoTime();
        Process process = builder.start();
        try {
            while (System.nanoTime() - start < LIMIT.toNanos()) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("the server exited with " + process.exitValue() + "; see " + arm.log());
                }
                try {
                    if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        return launched(process.toHandle(), System.nanoTime() - start);
                    }
                } catch (IOException notYet) {
                    // not listening yet
                }
                Thread.sleep(5);
            }
            throw new IllegalStateException("not ready within " + LIMIT);
        } finally {
            process.destroy();
            process.waitFor();
            Thread.sleep(1000);
        }
    }

    /**
     * A launch ready after {@code nanos}, with the CPU its JVM has used so far (the launcher execs the JVM in its own
     * process) split by its threads' names: HotSpot's compiler threads, its collectors' threads (ZGC's or G1's) and
     * the rest, which is the whole process's time less those two, so threads that have ended count there.
     */
    private static Launch launched(ProcessHandle jvm, long nanos) throws IOException {
        double total = jvm.info().totalCpuDuration().orElseThrow().toNanos() / 1e9;
        double jit = 0;
        double gc = 0;
        try (var tasks = Files.list(Path.of("/proc", Long.toString(jvm.pid()), "task"))) {
            for (Path task : tasks.toList()) {
                String name;
                double seconds;
                try {
                    name = Files.readString(task.resolve("comm")).strip();
                    seconds = ticks(task.resolve("stat")) / TICKS_PER_SECOND;
                } catch (IOException ended) {
                    continue; // the thread ended meanwhile: its time is in the process's total
                }
                if (name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")) {
                    jit += seconds;
                } else if (name.startsWith("ZWorker") || name.startsWith("ZDirector") || name.startsWith("ZDriver") || name.startsWith("ZUnmapper")
                        || name.startsWith("GC Thread") || name.startsWith("G1 ")) {
                    gc += seconds;
                }
            }
        }
        return new Launch(nanos, jit, gc, Math.max(0, total - jit - gc));
    }

    /** utime + stime of a thread's {@code stat} file (fields 14 and 15, counted after the command name in parentheses). */
    private static long ticks(Path stat) throws IOException {
        String text = Files.readString(stat);
        String[] fields = text.substring(text.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
