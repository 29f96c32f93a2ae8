package io.somastack.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Start-up as the launcher runs it: {@code ./somastack run} on a data directory that has
 * started before, timed from launching the process until {@code /readyz} answers 200, then
 * stopped with SIGTERM. Runs with the launcher's AOT cache and without it ({@code SOMASTACK_AOT=off})
 * alternate, so both see the same machine. The first launch (untimed) builds if needed, trains
 * the AOT cache and fills the data directory.
 * Usage (from the repository root): {@code java ... io.somastack.bench.StartupBenchmark [runs]}.
 */
public final class StartupBenchmark {
    private static final Duration LIMIT = Duration.ofMinutes(5);

    private StartupBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int runs = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 5;
        Path data = Files.createTempDirectory("soma-startup");
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(200)).build();
        String started = Instant.now().toString();
        System.out.printf("warm-up launch (build, AOT training, first start): %.2f s%n", launch(http, data, true) / 1e9);
        Map<String, long[]> nanos = new LinkedHashMap<>();
        nanos.put("with the launcher's AOT cache", new long[runs]);
        nanos.put("without it (SOMASTACK_AOT=off)", new long[runs]);
        for (int run = 0; run < runs; run++) {
            nanos.get("with the launcher's AOT cache")[run] = launch(http, data, true);
            nanos.get("without it (SOMASTACK_AOT=off)")[run] = launch(http, data, false);
            System.out.printf("run %d: %.2f s with, %.2f s without%n", run + 1, nanos.get("with the launcher's AOT cache")[run] / 1e9,
                    nanos.get("without it (SOMASTACK_AOT=off)")[run] / 1e9);
        }
        StringBuilder report = new StringBuilder("""
                Run started %s; %s

                | launch to /readyz 200 | min s | median s | max s | runs | target |
                |---|---:|---:|---:|---:|---:|
                """.formatted(started, MemoryRecallBenchmark.describe(Machine.current())));
        nanos.forEach((label, values) -> {
            long[] sorted = values.clone();
            Arrays.sort(sorted);
            report.append("| %s | %.2f | %.2f | %.2f | %d | <= 2 s |%n".formatted(label, sorted[0] / 1e9, sorted[sorted.length / 2] / 1e9,
                    sorted[sorted.length - 1] / 1e9, sorted.length));
        });
        System.out.println(report);
        Files.writeString(Path.of("soma-bench/target/startup.md"), report);
    }

    /** Launches the server, returns nanoseconds until it was ready, and stops it. */
    private static long launch(HttpClient http, Path data, boolean aot) throws IOException, InterruptedException {
        int port = 20000 + (int) (Math.random() * 20000);
        List<String> command = new ArrayList<>(List.of("./somastack", "run", "--port", Integer.toString(port), "--data-dir",
                data.resolve("data").toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(data.resolve(aot ? "with.log" : "without.log").toFile());
        builder.environment().put("SOMASTACK_AOT", aot ? "on" : "off");
        builder.environment().put("SOMA_LOG_FORMAT", "text");
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).timeout(Duration.ofSeconds(1)).build();
        long start = System.nanoTime();
        Process process = builder.start();
        try {
            while (System.nanoTime() - start < LIMIT.toNanos()) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("the server exited with " + process.exitValue() + "; see " + data);
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
