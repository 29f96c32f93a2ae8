package io.somastack.bench;

import io.somastack.kernel.Json;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import io.somastack.policy.TestCapsules;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import tools.jackson.databind.JsonNode;

/**
 * The turn loop's overhead (issue 10), side by side with the bare model call, in one run against
 * the gateway benchmarks' {@link FixedReplyUpstream} (streamed, since the loop streams):
 * <ol>
 *   <li>per step: a one-step agent run ({@code POST /v1/agents/bench-agent/runs}, JSON, waiting for
 *       the end) vs the same streamed call sent straight to the upstream, and vs the same call
 *       through SomaStack's {@code /v1/chat/completions} (the metered call the loop makes), in
 *       alternating order so all three see the same machine load;</li>
 *   <li>time to the first server-sent event of a streamed run ({@code run.started}) and to its first
 *       {@code model.delta}, vs the first chunk of the straight streamed call;</li>
 *   <li>{@code concurrent} streaming runs at once on one node: every client reads its run to the
 *       terminal event, then the events each received are compared with the run's stored events
 *       ({@code GET /v1/runs/{id}/events} after the end, read from PostgreSQL): nothing lost, nothing
 *       twice, byte for byte.</li>
 * </ol>
 * SomaStack runs as {@link SomaStackInstance} makes it (the whole server, durable embedded
 * PostgreSQL); the capsule is signed, published and installed through the marketplace's routes.
 * Usage: {@code java ... io.somastack.bench.AgentLoopBenchmark [iterations] [concurrent]}.
 */
public final class AgentLoopBenchmark {
    static final double TARGET_STEP_P99_MILLIS = 2.0;
    private static final String AGENT = "bench-agent";
    private static final byte[] RUN = "{\"input\":\"Say hello in one short sentence.\"}".getBytes(StandardCharsets.UTF_8);
    private static final byte[] STREAMED_CHAT = """
            {"model":"%s","messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":16,"stream":true}"""
            .formatted(FixedReplyUpstream.MODEL).getBytes(StandardCharsets.UTF_8);

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    private final FixedReplyUpstream upstream;
    private final SomaStackInstance soma;

    private AgentLoopBenchmark(FixedReplyUpstream upstream, SomaStackInstance soma) {
        this.upstream = upstream;
        this.soma = soma;
    }

    public static void main(String[] arguments) throws Exception {
        int iterations = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 2000;
        int concurrent = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 500;
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", "logback-plain.xml");
        }
        String report;
        try (FixedReplyUpstream upstream = FixedReplyUpstream.start();
                SomaStackInstance soma = SomaStackInstance.start(upstream.baseUrl())) {
            report = new AgentLoopBenchmark(upstream, soma).run(iterations, concurrent);
        }
        System.out.println(report);
        Path output = Path.of("soma-bench/target/agent-loop.md");
        Files.createDirectories(output.getParent());
        Files.writeString(output, report);
        System.out.println("Written to " + output);
        System.exit(0);
    }

    String run(int iterations, int concurrent) throws Exception {
        String loadBefore = Machine.loadAverage();
        Instant started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        install();
        HttpRequest direct = HttpRequest.newBuilder(URI.create(upstream.baseUrl() + "/chat/completions")).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + SomaStackInstance.UPSTREAM_API_KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(STREAMED_CHAT)).build();
        HttpRequest metered = somaRequest("/v1/chat/completions", STREAMED_CHAT, "application/json");
        HttpRequest run = somaRequest("/v1/agents/" + AGENT + "/runs", RUN, "application/json");
        HttpRequest streamedRun = somaRequest("/v1/agents/" + AGENT + "/runs", RUN, "text/event-stream");
        check(run);

        for (int i = 0; i < iterations / 2; i++) {
            firstEvents(direct, false);
            firstEvents(metered, false);
            firstEvents(run, false);
        }
        long[] directCalls = new long[iterations];
        long[] meteredCalls = new long[iterations];
        long[] runs = new long[iterations];
        long[] stepOverhead = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            // Rotate the order so none of the three paths always runs right after another.
            for (int turn = 0; turn < 3; turn++) {
                switch ((i + turn) % 3) {
                    case 0 -> directCalls[i] = firstEvents(direct, false)[1];
                    case 1 -> meteredCalls[i] = firstEvents(metered, false)[1];
                    default -> runs[i] = firstEvents(run, false)[1];
                }
            }
            stepOverhead[i] = runs[i] - directCalls[i];
        }
        long[] directFirst = new long[iterations];
        long[] runFirst = new long[iterations];
        long[] runFirstDelta = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            if (i % 2 == 0) {
                directFirst[i] = firstEvents(direct, false)[0];
                long[] times = firstEvents(streamedRun, true);
                runFirst[i] = times[0];
                runFirstDelta[i] = times[2];
            } else {
                long[] times = firstEvents(streamedRun, true);
                runFirst[i] = times[0];
                runFirstDelta[i] = times[2];
                directFirst[i] = firstEvents(direct, false)[0];
            }
        }
        Concurrent load = concurrent(streamedRun, concurrent);
        for (long[] sorted : List.of(directCalls, meteredCalls, runs, stepOverhead, directFirst, runFirst, runFirstDelta)) {
            Arrays.sort(sorted);
        }
        return report(started, loadBefore, iterations, directCalls, meteredCalls, runs, stepOverhead, directFirst, runFirst, runFirstDelta, load);
    }

    /** Signs, publishes and installs a capsule preferring the upstream's model, with no tools: one step per run. */
    private void install() {
        SigningKeys keys = Signatures.generate();
        soma.post("/v1/policy/trusted-keys", Map.of("name", "bench key", "role", "publisher", "public_key_pem", keys.publicKeyPem()));
        String manifest = """
                name: %s
                version: 1.0.0
                publisher: bench
                description: Answers in one step, for the turn loop benchmark.
                model:
                  preferred: [%s]
                  capabilities: [chat]
                system_prompt: You answer briefly.
                permissions:
                  max_budget_per_run_usd: "1"
                """.formatted(AGENT, FixedReplyUpstream.MODEL);
        byte[] bundle = TestCapsules.zip(TestCapsules.files(manifest, TestCapsules.sbom("is-number.cdx.json")));
        HttpResponse<String> published = soma.send("POST", "/v1/capsules/publish", "application/zip", bundle, "Capsule-Signature",
                Signatures.sign(keys.privateKeyPem(), bundle) + "; key-id=" + keys.keyId());
        if (published.statusCode() != 201) {
            throw new IllegalStateException("publish answered %d: %s".formatted(published.statusCode(), published.body()));
        }
        HttpResponse<String> installed = soma.send("POST", "/v1/capsules/" + AGENT + "/install", "application/json", null);
        if (installed.statusCode() != 201) {
            throw new IllegalStateException("install answered %d: %s".formatted(installed.statusCode(), installed.body()));
        }
    }

    private HttpRequest somaRequest(String path, byte[] body, String accept) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:%d%s".formatted(soma.port(), path))).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + soma.apiKey()).header("Content-Type", "application/json").header("Accept", accept)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    }

    private void check(HttpRequest run) throws IOException, InterruptedException {
        HttpResponse<String> answer = http.send(run, HttpResponse.BodyHandlers.ofString());
        JsonNode body = Json.mapper().readTree(answer.body());
        if (answer.statusCode() != 200 || !"completed".equals(body.path("status").asString("")) || !body.path("answer").asString("")
                .contains(FixedReplyUpstream.REPLY_TEXT)) {
            throw new IllegalStateException("The agent run answered %d: %s".formatted(answer.statusCode(), answer.body()));
        }
    }

    /**
     * Sends {@code request} and reads its answer to the end: nanoseconds to the first {@code data:}
     * line, to the end, and (for a run's stream) to the first {@code model.delta}.
     */
    private long[] firstEvents(HttpRequest request, boolean run) throws IOException, InterruptedException {
        long start = System.nanoTime();
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        long first = 0;
        long delta = 0;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            if (response.statusCode() != 200) {
                throw new IllegalStateException("%s answered %d".formatted(request.uri(), response.statusCode()));
            }
            String line;
            while ((line = lines.readLine()) != null) {
                if (first == 0 && (line.startsWith("data: ") || line.startsWith("{"))) {
                    first = System.nanoTime() - start;
                }
                if (run && delta == 0 && line.equals("event: model.delta")) {
                    delta = System.nanoTime() - start;
                }
            }
        }
        return new long[] {first, System.nanoTime() - start, delta};
    }

    /** What the concurrent phase saw. */
    record Concurrent(int runs, long eventsReceived, long eventsStored, int mismatched, int failed, long[] firstEvent, long[] lastEvent,
            long[] eventGaps, double seconds) {
    }

    /** Starts {@code count} streamed runs at once; each client reads to the terminal event, then its events are compared with the stored ones. */
    private Concurrent concurrent(HttpRequest streamedRun, int count) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Streamed>> futures = new ArrayList<>();
        long begin;
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < count; i++) {
                futures.add(threads.submit(() -> {
                    go.await();
                    return stream(streamedRun);
                }));
            }
            begin = System.nanoTime();
            go.countDown();
        }
        double seconds = (System.nanoTime() - begin) / 1e9;
        long received = 0;
        long stored = 0;
        int mismatched = 0;
        int failed = 0;
        long[] first = new long[count];
        long[] last = new long[count];
        List<Long> gaps = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Streamed streamed = futures.get(i).get();
            received += streamed.frames().size();
            first[i] = streamed.arrivals().getFirst();
            last[i] = streamed.arrivals().getLast();
            for (int k = 1; k < streamed.arrivals().size(); k++) {
                gaps.add(streamed.arrivals().get(k) - streamed.arrivals().get(k - 1));
            }
            if (!streamed.frames().getLast().startsWith("event: run.completed")) {
                failed++;
            }
            HttpResponse<String> replay = soma.send("GET", "/v1/runs/" + streamed.runId() + "/events", null, null, "Accept", "text/event-stream");
            List<String> storedFrames = frames(replay.body());
            stored += storedFrames.size();
            if (!storedFrames.equals(streamed.frames())) {
                mismatched++;
            }
        }
        Arrays.sort(first);
        Arrays.sort(last);
        long[] sortedGaps = gaps.stream().mapToLong(Long::longValue).sorted().toArray();
        return new Concurrent(count, received, stored, mismatched, failed, first, last, sortedGaps, seconds);
    }

    /** A streamed run as one client saw it: its id, its frames in order, and when each arrived (nanoseconds after the request). */
    private record Streamed(String runId, List<String> frames, List<Long> arrivals) {
    }

    private Streamed stream(HttpRequest request) throws IOException, InterruptedException {
        long start = System.nanoTime();
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        String location = response.headers().firstValue("Location").orElseThrow();
        List<String> frames = new ArrayList<>();
        List<Long> arrivals = new ArrayList<>();
        StringBuilder frame = new StringBuilder();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                if (line.isEmpty()) {
                    if (!frame.isEmpty()) {
                        frames.add(frame.toString());
                        arrivals.add(System.nanoTime() - start);
                        frame.setLength(0);
                    }
                } else {
                    frame.append(line).append('\n');
                }
            }
        }
        return new Streamed(location.substring(location.lastIndexOf('/') + 1), frames, arrivals);
    }

    private static List<String> frames(String body) {
        List<String> frames = new ArrayList<>();
        for (String frame : body.split("\n\n")) {
            if (!frame.isBlank()) {
                frames.add(frame.strip() + "\n");
            }
        }
        return frames;
    }

    private static String report(Instant started, String loadBefore, int iterations, long[] directCalls, long[] meteredCalls, long[] runs,
            long[] stepOverhead, long[] directFirst, long[] runFirst, long[] runFirstDelta, Concurrent load) {
        Machine machine = Machine.current();
        double overheadP99 = millis(runs, 0.99) - millis(directCalls, 0.99);
        StringBuilder report = new StringBuilder();
        report.append("### Results: run of %s%n%n".formatted(started));
        report.append("Machine: %d cores, %s, %s; load average before %s, after %s. %d measured iterations per path after %d warm-up.%n%n"
                .formatted(machine.cores(), machine.cpuModel(), machine.jdk(), loadBefore, Machine.loadAverage(), iterations, iterations / 2));
        report.append("""
                One step (ms, whole request to the end of the answer) | p50 | p90 | p99 | max
                ---|---|---|---|---
                """);
        report.append(row("straight to the upstream, streamed", directCalls));
        report.append(row("SomaStack `/v1/chat/completions`, streamed (the metered call)", meteredCalls));
        report.append(row("SomaStack one-step agent run, JSON", runs));
        report.append(row("run minus its paired straight call", stepOverhead));
        report.append("""

                Overhead of a one-step run over the bare model call at p99: %s ms (difference of percentiles); \
                target ≤ %s ms per step: **%s**.

                Time to first event (ms) | p50 | p90 | p99 | max
                ---|---|---|---|---
                """.formatted(decimal(overheadP99), decimal(TARGET_STEP_P99_MILLIS), overheadP99 <= TARGET_STEP_P99_MILLIS ? "met" : "not met"));
        report.append(row("straight to the upstream: first chunk", directFirst));
        report.append(row("streamed run: `run.started`", runFirst));
        report.append(row("streamed run: first `model.delta`", runFirstDelta));
        report.append("""

                %d concurrent streamed runs, started at once: %d runs completed, %d not completed; events received %d, events stored %d; \
                runs whose received events differ from the stored ones: %d; all ended in %s s.

                Concurrent runs (ms after the request) | p50 | p90 | p99 | max
                ---|---|---|---|---
                """.formatted(load.runs(), load.runs() - load.failed(), load.failed(), load.eventsReceived(), load.eventsStored(),
                load.mismatched(), decimal(load.seconds())));
        report.append(row("first event (`run.started`)", load.firstEvent()));
        report.append(row("terminal event", load.lastEvent()));
        report.append(row("between consecutive events of a run", load.eventGaps()));
        return report.toString();
    }

    private static String row(String path, long[] sorted) {
        return "%s | %s | %s | %s | %s%n".formatted(path, decimal(millis(sorted, 0.5)), decimal(millis(sorted, 0.9)), decimal(millis(sorted, 0.99)),
                decimal(sorted[sorted.length - 1] / 1e6));
    }

    static double millis(long[] sorted, double percentile) {
        return sorted[(int) Math.min(sorted.length - 1, sorted.length * percentile)] / 1e6;
    }

    private static String decimal(double value) {
        return String.format(Locale.ROOT, "%.3f", value);
    }
}
