package io.somastack.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * Measures SomaStack's gateway overhead: the latency of a chat completion through SomaStack
 * minus the latency of the same request sent straight to the same upstream, side by side in
 * one run. For each rate it runs both paths in turn (the order alternates from rate to rate)
 * under open-loop load, then prints a Markdown table and writes it to
 * {@code soma-bench/target/gateway-overhead.md}.
 *
 * <p>Run it from the repository root after {@code mvn -pl soma-bench -am install -DskipTests}:
 * <pre>
 * mvn -q -pl soma-bench exec:java -Dexec.args="--rates 500,2000,5000 --duration 60s --warmup 10s"
 * </pre>
 * SomaStack runs as in production: authentication, rate limits, budget reserve and settle,
 * the durable ledger and the hash-chained audit log are all on, over an embedded PostgreSQL
 * with fsync and synchronous commit on. With {@code --server launcher}, SomaStack runs in its
 * own JVM as {@code ./somastack run} starts it (ZGC, the AOT cache, the JIT at nice 5), and the load generator and
 * the upstream in this one: this JVM's pauses then delay both paths alike. By default the load
 * generator, the upstream and SomaStack share this JVM, so its collector's pauses stop all
 * three: run it with {@code -XX:+UseZGC} (the collector the launcher gives the server) for the
 * tail at low rates, and with the default G1 for throughput on two cores, where ZGC's concurrent
 * threads fall behind first (docs/BENCHMARKS.md, "After the merge of 2026-12-01 (afternoon)");
 * the report prints the pauses of each window.
 */
public final class GatewayOverheadBenchmark {
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration PAUSE_BETWEEN_PHASES = Duration.ofSeconds(2);
    private static final byte[] CHAT_REQUEST = """
            {"model":"%s","messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":16}"""
            .formatted(FixedReplyUpstream.MODEL).getBytes(StandardCharsets.UTF_8);

    private final BenchmarkOptions options;
    private final PrintStream out;
    private PostgresTransactions transactions;
    private final GcPauses gcPauses = new GcPauses();

    GatewayOverheadBenchmark(BenchmarkOptions options, PrintStream out) {
        this.options = options;
        this.out = out;
    }

    public static void main(String[] arguments) throws Exception {
        BenchmarkOptions options;
        try {
            options = BenchmarkOptions.parse(Arrays.asList(arguments));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println(BenchmarkOptions.USAGE);
            System.exit(2);
            return;
        }
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", "logback-plain.xml");
        }
        String report = new GatewayOverheadBenchmark(options, System.out).run();
        System.out.println();
        System.out.println(report);
        System.out.println("Written to " + options.output().toAbsolutePath());
    }

    /** Runs every rate on both paths and returns the report, also written to the output file. */
    String run() throws InterruptedException {
        Machine machine = Machine.current();
        out.printf("Gateway overhead benchmark: rates %s req/s, %d s measured after %d s warm-up per rate and path, %d connections%n",
                options.rates(), options.duration().toSeconds(), options.warmup().toSeconds(), options.connections());
        out.printf("Machine: %d cores, %s, %s%n", machine.cores(), machine.cpuModel(), machine.jdk());
        List<PhaseResult> results = new ArrayList<>();
        try (FixedReplyUpstream upstream = FixedReplyUpstream.start();
                SomaStackInstance soma = options.launcher() ? SomaStackInstance.launch(Path.of(""), upstream.baseUrl())
                        : SomaStackInstance.start(upstream.baseUrl())) {
            Target direct = new Target(Target.DIRECT, new InetSocketAddress("127.0.0.1", upstream.port()),
                    HttpConnection.post("127.0.0.1", upstream.port(), "/v1/chat/completions", SomaStackInstance.UPSTREAM_API_KEY,
                            CHAT_REQUEST));
            Target somaStack = new Target(Target.SOMASTACK, new InetSocketAddress("127.0.0.1", soma.port()),
                    HttpConnection.post("127.0.0.1", soma.port(), "/v1/chat/completions", soma.apiKey(), CHAT_REQUEST));
            checkAnswer(direct, soma.apiKey());
            checkAnswer(somaStack, soma.apiKey());
            out.printf("Upstream on port %d, SomaStack on port %d (embedded PostgreSQL in %s)%n", upstream.port(), soma.port(),
                    soma.postgresDirectory());

            ResourceMeter meter = new ResourceMeter(Optional.of(soma.postgresDirectory()), soma.serverProcess());
            transactions = new PostgresTransactions(soma.postgresDirectory());
            warmUp(List.of(direct, somaStack));
            for (int index = 0; index < options.rates().size(); index++) {
                int rate = options.rates().get(index);
                List<Target> order = index % 2 == 0 ? List.of(direct, somaStack) : List.of(somaStack, direct);
                for (Target target : order) {
                    PhaseResult result = measure(target, rate, meter, target == somaStack ? Optional.of(soma) : Optional.empty());
                    results.add(result);
                    LoadResult load = result.load();
                    out.printf("[%d req/s %s] done: achieved %.0f req/s, p50 %.3f ms, p99 %.3f ms, max %.3f ms, %d errors, "
                                    + "JVM CPU %.2f cores, PostgreSQL CPU %.2f cores, other CPU %.2f cores%n",
                            rate, target.name(), load.achievedRate(), load.percentileMillis(50), load.percentileMillis(99),
                            load.maxMillis(), load.errorCount(), result.cpu().processCores(), result.cpu().postgresCores(),
                            result.cpu().otherCores());
                    Thread.sleep(PAUSE_BETWEEN_PHASES);
                }
            }
        } finally {
            if (transactions != null) {
                transactions.close();
            }
        }
        String report = new MarkdownReport(options, machine, results).render();
        try {
            Files.createDirectories(options.output().toAbsolutePath().getParent());
            Files.writeString(options.output(), report);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + options.output(), e);
        }
        return report;
    }

    /** Runs both paths at the lowest rate, unmeasured, so that neither is measured while the JIT compiles it. */
    private void warmUp(List<Target> targets) throws InterruptedException {
        if (options.initialWarmup().isZero()) {
            return;
        }
        int rate = options.rates().stream().mapToInt(Integer::intValue).min().orElseThrow();
        out.printf("Initial warm-up, not measured: %d s per path at %d req/s%n", options.initialWarmup().toSeconds(), rate);
        OpenLoopLoad.WindowListener ignore = new OpenLoopLoad.WindowListener() {
            @Override
            public void opened() {
            }

            @Override
            public void closed() {
            }
        };
        for (Target target : targets) {
            new OpenLoopLoad(target, options.connections(), READ_TIMEOUT, OpenLoopLoad.DRAIN_TIMEOUT, out)
                    .run(rate, Duration.ZERO, options.initialWarmup(), ignore);
            Thread.sleep(PAUSE_BETWEEN_PHASES);
        }
    }

    private PhaseResult measure(Target target, int rate, ResourceMeter meter, Optional<SomaStackInstance> soma)
            throws InterruptedException {
        OpenLoopLoad load = new OpenLoopLoad(target, options.connections(), READ_TIMEOUT, OpenLoopLoad.DRAIN_TIMEOUT, out);
        ResourceMeter.Snapshot[] window = new ResourceMeter.Snapshot[2];
        ServerTimer[] timers = new ServerTimer[2];
        long[] transacted = new long[2];
        long[][] paused = new long[2][];
        LoadResult result = load.run(rate, options.warmup(), options.duration(), new OpenLoopLoad.WindowListener() {
            @Override
            public void opened() {
                timers[0] = soma.map(instance -> ServerTimer.parse(instance.metrics())).orElse(null);
                window[0] = meter.snapshot();
                transacted[0] = soma.isPresent() ? transactions.count() : 0;
                paused[0] = new long[] {gcPauses.count(), gcPauses.millis()};
            }

            @Override
            public void closed() {
                window[1] = meter.snapshot();
                paused[1] = new long[] {gcPauses.count(), gcPauses.millis()};
                transacted[1] = soma.isPresent() ? transactions.count() : 0;
                timers[1] = soma.map(instance -> ServerTimer.parse(instance.metrics())).orElse(null);
            }
        });
        OptionalDouble serverMean = timers[0] == null ? OptionalDouble.empty() : timers[1].meanMillisSince(timers[0]);
        return new PhaseResult(result, meter.between(window[0], window[1]), meter.memoryAfterGc(), serverMean,
                soma.isPresent() ? OptionalLong.of(transacted[1] - transacted[0]) : OptionalLong.empty(), paused[1][0] - paused[0][0],
                paused[1][1] - paused[0][1]);
    }

    /** One request through the path before the load starts: it must succeed with the upstream's reply. */
    private static void checkAnswer(Target target, String apiKey) {
        URI uri = URI.create("http://127.0.0.1:%d/v1/chat/completions".formatted(target.address().getPort()));
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + (target.name().equals(Target.DIRECT) ? SomaStackInstance.UPSTREAM_API_KEY : apiKey))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(CHAT_REQUEST)).build();
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200 || !response.body().contains(FixedReplyUpstream.REPLY_TEXT)) {
                throw new IllegalStateException("%s path answered %d: %s".formatted(target.name(), response.statusCode(), response.body()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(target.name() + " path did not answer", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
