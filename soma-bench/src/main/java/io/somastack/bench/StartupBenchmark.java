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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Start-up as the launcher runs it: {@code ./somastack run} on a data directory that has
 * started before, timed from launching the process until {@code /readyz} answers 200, then
 * stopped with SIGTERM. The arms alternate, so all see the same machine:
 * <ul>
 * <li>without launch directories: this repository's launcher with its AOT cache and without it
 *     ({@code SOMASTACK_AOT=off});
 * <li>with launch directories (repository roots, e.g. a worktree of main and this branch): each
 *     one's launcher with its AOT cache, each on its own data directory.
 * </ul>
 * The first launch of each arm (untimed) builds if needed, trains the AOT cache and fills the
 * data directory. After the runs, the server's own step log ("Start-up: ... at N ms") of each
 * arm's last run is printed beside the table.
 * Usage (from the repository root): {@code java ... io.somastack.bench.StartupBenchmark [runs] [launch-dir ...]}.
 */
public final class StartupBenchmark {
    private static final Duration LIMIT = Duration.ofMinutes(5);
    private static final Pattern STEP = Pattern.compile("Start-up: (.+?) at (-?\\d+) ms");
    private static final Pattern LISTENING = Pattern.compile("SomaStack listening on .* in (\\d+) ms");

    /** One way of launching: a repository root whose {@code ./somastack} runs, with the AOT cache or not. */
    private record Arm(String label, Path root, boolean aot, Path data, Path log) {
    }

    private StartupBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int runs = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 5;
        Path work = Files.createTempDirectory("soma-startup");
        List<Arm> arms = new ArrayList<>();
        if (arguments.length <= 1) {
            Path root = Path.of("").toAbsolutePath();
            arms.add(new Arm("with the launcher's AOT cache", root, true, work.resolve("data"), work.resolve("with.log")));
            arms.add(new Arm("without it (SOMASTACK_AOT=off)", root, false, work.resolve("data"), work.resolve("without.log")));
        } else {
            for (int index = 1; index < arguments.length; index++) {
                Path root = Path.of(arguments[index]).toAbsolutePath().normalize();
                String label = "%s (%s)".formatted(root.getFileName(), commit(root));
                arms.add(new Arm(label, root, true, work.resolve("data-" + index), work.resolve("arm-" + index + ".log")));
            }
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(200)).build();
        String started = Instant.now().toString();
        String loadAtStart = Machine.loadAverage();
        for (Arm arm : arms) {
            if (arm.aot() || arms.size() == 1) {
                System.out.printf("warm-up launch of %s (build, AOT training, first start): %.2f s%n", arm.label(), launch(http, arm) / 1e9);
            }
        }
        Map<Arm, long[]> nanos = new LinkedHashMap<>();
        arms.forEach(arm -> nanos.put(arm, new long[runs]));
        for (int run = 0; run < runs; run++) {
            StringBuilder line = new StringBuilder("run %d:".formatted(run + 1));
            for (Arm arm : arms) {
                nanos.get(arm)[run] = launch(http, arm);
                line.append(" %.2f s %s;".formatted(nanos.get(arm)[run] / 1e9, arm.label()));
            }
            System.out.println(line);
        }
        StringBuilder report = new StringBuilder("""
                Run started %s, load average %s at the start, %s at the end; %s

                | launch to /readyz 200 | min s | median s | max s | runs | target |
                |---|---:|---:|---:|---:|---:|
                """.formatted(started, loadAtStart, Machine.loadAverage(), MemoryRecallBenchmark.describe(Machine.current())));
        nanos.forEach((arm, values) -> {
            long[] sorted = values.clone();
            Arrays.sort(sorted);
            report.append("| %s | %.2f | %.2f | %.2f | %d | <= 2 s |%n".formatted(arm.label(), sorted[0] / 1e9, sorted[sorted.length / 2] / 1e9,
                    sorted[sorted.length - 1] / 1e9, sorted.length));
        });
        report.append(steps(arms));
        System.out.println(report);
        Files.writeString(Path.of("soma-bench/target/startup.md"), report);
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

    /** Launches the server, returns nanoseconds until it was ready, and stops it. */
    private static long launch(HttpClient http, Arm arm) throws IOException, InterruptedException {
        int port = SomaStackInstance.freeLoopbackPort();
        List<String> command = List.of(arm.root().resolve("somastack").toString(), "run", "--port", Integer.toString(port), "--data-dir",
                arm.data().toString());
        ProcessBuilder builder = new ProcessBuilder(command).directory(arm.root().toFile()).redirectErrorStream(true)
                .redirectOutput(arm.log().toFile());
        builder.environment().put("SOMASTACK_AOT", arm.aot() ? "on" : "off");
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
                        return System.nanoTime() - start;
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
}
