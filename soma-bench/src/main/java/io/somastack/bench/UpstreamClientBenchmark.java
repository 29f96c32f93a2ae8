package io.somastack.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpMethod;

/**
 * The upstream HTTP client alone, side by side: the JDK's {@code java.net.http.HttpClient} and
 * Jetty's {@code HttpClient}, each POSTing the gateway benchmark's chat request to the same
 * {@link FixedReplyUpstream} the way a provider does (headers awaited by the caller's virtual
 * thread, the body read from an {@code InputStream} to its end). Open loop at a fixed rate, one
 * virtual thread per call as SomaStack's request threads are; latency from each call's due time.
 * CPU per call is this process's CPU time in the window (caller, client and upstream; the
 * upstream's share is the same for both) over the calls answered. Rounds alternate the order.
 *
 * <pre>
 * java -cp 'soma-bench/target/soma-bench-0.1.0-SNAPSHOT.jar:soma-bench/target/lib/*' \
 *   io.somastack.bench.UpstreamClientBenchmark [rate 2000] [seconds 10] [rounds 3]
 * </pre>
 */
public final class UpstreamClientBenchmark {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final long HIGHEST_LATENCY_NANOS = TimeUnit.SECONDS.toNanos(60);
    /** Failed calls by client and cause, printed at the end. */
    private static final java.util.Map<String, LongAdder> FAILURES = new java.util.concurrent.ConcurrentHashMap<>();

    /** One POST of a JSON body, returning the whole answer body. */
    interface Client extends AutoCloseable {
        String name();

        byte[] post(URI uri, byte[] body) throws Exception;

        @Override
        void close();
    }

    /** The JDK client as {@code HttpUpstream} used it before: HTTP/1.1, headers then an {@code InputStream}. */
    static final class JdkClient implements Client {
        private final java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
                .version(java.net.http.HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
                .followRedirects(java.net.http.HttpClient.Redirect.NEVER).build();

        @Override
        public String name() {
            return "JDK HttpClient";
        }

        @Override
        public byte[] post(URI uri, byte[] body) throws Exception {
            java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(uri).timeout(TIMEOUT)
                    .header("Content-Type", "application/json").header("Authorization", "Bearer bench")
                    .header("Accept", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body)).build();
            java.net.http.HttpResponse<InputStream> response = client.send(request, java.net.http.HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                return in.readAllBytes();
            }
        }

        @Override
        public void close() {
            client.shutdownNow();
        }
    }

    /**
     * Jetty's client the way {@code HttpUpstream} calls it (headers awaited with a timeout, then the
     * body's {@code InputStream}; the same pool limits), without its protocol-handler and
     * content-decoder clean-up, which the fixed-reply upstream never exercises.
     */
    static final class JettyClient implements Client {
        private final org.eclipse.jetty.client.HttpClient client = new org.eclipse.jetty.client.HttpClient();

        JettyClient() throws Exception {
            client.setFollowRedirects(false);
            client.setConnectTimeout(10_000);
            client.setIdleTimeout(TIMEOUT.toMillis());
            client.setMaxConnectionsPerDestination(4096);
            client.setMaxRequestsQueuedPerDestination(65_536);
            client.start();
        }

        @Override
        public String name() {
            return "Jetty HttpClient";
        }

        @Override
        public byte[] post(URI uri, byte[] body) throws Exception {
            InputStreamResponseListener listener = new InputStreamResponseListener();
            Request request = client.newRequest(uri).method(HttpMethod.POST)
                    .headers(fields -> fields.put("Authorization", "Bearer bench").put("Accept", "application/json"))
                    .body(new BytesRequestContent("application/json", body));
            request.send(listener);
            Response response = listener.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (response.getStatus() != 200) {
                throw new IOException("HTTP " + response.getStatus());
            }
            try (InputStream in = listener.getInputStream()) {
                return in.readAllBytes();
            }
        }

        @Override
        public void close() {
            try {
                client.stop();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    record Phase(String client, String mode, double achievedRate, double p50Millis, double p99Millis, long errors, double cpuMicrosPerCall) {
    }

    public static void main(String[] arguments) throws Exception {
        int rate = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 2000;
        Duration duration = Duration.ofSeconds(arguments.length > 1 ? Long.parseLong(arguments[1]) : 10);
        int rounds = arguments.length > 2 ? Integer.parseInt(arguments[2]) : 3;
        byte[] json = """
                {"model":"%s","messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":16}"""
                .formatted(FixedReplyUpstream.MODEL).getBytes(StandardCharsets.UTF_8);
        byte[] sse = """
                {"model":"%s","messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":16,"stream":true}"""
                .formatted(FixedReplyUpstream.MODEL).getBytes(StandardCharsets.UTF_8);
        ResourceMeter meter = new ResourceMeter(java.util.Optional.empty());
        System.out.printf("Upstream client benchmark %s: %d req/s, %d s measured after %d s warm-up, %d rounds, load %s%n",
                Instant.now(), rate, duration.toSeconds(), duration.toSeconds() / 2, rounds, LoadAverage.now());
        List<Phase> phases = new ArrayList<>();
        try (FixedReplyUpstream upstream = FixedReplyUpstream.start();
                Client jdk = new JdkClient();
                Client jetty = new JettyClient()) {
            URI uri = URI.create(upstream.baseUrl() + "/chat/completions");
            for (int round = 0; round < rounds; round++) {
                List<Client> order = round % 2 == 0 ? List.of(jdk, jetty) : List.of(jetty, jdk);
                for (String mode : List.of("json", "sse")) {
                    for (Client client : order) {
                        Phase phase = run(client, mode, uri, mode.equals("json") ? json : sse, rate, duration, meter);
                        phases.add(phase);
                        System.out.printf("round %d %s %s: achieved %.0f req/s, p50 %.3f ms, p99 %.3f ms, %d errors, CPU %.1f µs per call%n",
                                round + 1, phase.client(), phase.mode(), phase.achievedRate(), phase.p50Millis(), phase.p99Millis(),
                                phase.errors(), phase.cpuMicrosPerCall());
                        Thread.sleep(1000);
                    }
                }
            }
        }
        System.out.printf("%nload at end %s%n%n| round | client | body | achieved req/s | p50 ms | p99 ms | errors | process CPU per call µs |%n"
                + "|---:|---|---|---:|---:|---:|---:|---:|%n", LoadAverage.now());
        for (int index = 0; index < phases.size(); index++) {
            Phase phase = phases.get(index);
            System.out.printf("| %d | %s | %s | %.0f | %.3f | %.3f | %d | %.1f |%n", index / 4 + 1, phase.client(), phase.mode(),
                    phase.achievedRate(), phase.p50Millis(), phase.p99Millis(), phase.errors(), phase.cpuMicrosPerCall());
        }
        FAILURES.forEach((kind, count) -> System.out.printf("failed: %s × %d%n", kind, count.sum()));
        System.exit(0);
    }

    /** Half the duration unmeasured, then the measured window; waits up to the timeout for the window's calls. */
    private static Phase run(Client client, String mode, URI uri, byte[] body, int rate, Duration duration, ResourceMeter meter)
            throws InterruptedException {
        double interval = 1e9 / rate;
        long warmupCount = Math.round(duration.toNanos() / 2.0 / interval);
        long measuredCount = Math.round(duration.toNanos() / interval);
        ConcurrentHistogram latencies = new ConcurrentHistogram(HIGHEST_LATENCY_NANOS, 3);
        LongAdder errors = new LongAdder();
        LongAdder measuredDone = new LongAdder();
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
        long windowStart = start + Math.round(warmupCount * interval);
        ResourceMeter.Snapshot first = null;
        for (long index = 0; index < warmupCount + measuredCount; index++) {
            long due = start + Math.round(index * interval);
            for (long now = System.nanoTime(); now < due; now = System.nanoTime()) {
                LockSupport.parkNanos(due - now);
            }
            if (first == null && due >= windowStart) {
                first = meter.snapshot();
            }
            boolean measured = due >= windowStart;
            Thread.startVirtualThread(() -> {
                try {
                    client.post(uri, body);
                    if (measured) {
                        latencies.recordValue(Math.min(System.nanoTime() - due, HIGHEST_LATENCY_NANOS));
                    }
                } catch (Exception e) {
                    if (measured) {
                        errors.increment();
                        Throwable cause = e.getCause() != null ? e.getCause() : e;
                        FAILURES.computeIfAbsent("%s (%s): %s".formatted(client.name(), cause.getClass().getSimpleName(), cause.getMessage()),
                                ignored -> new LongAdder()).increment();
                    }
                } finally {
                    if (measured) {
                        measuredDone.increment();
                    }
                }
            });
        }
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (measuredDone.sum() < measuredCount && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        ResourceMeter.Snapshot last = meter.snapshot();
        long answered = latencies.getTotalCount();
        double cpuMicros = (last.processCpuNanos() - first.processCpuNanos()) / 1e3 / Math.max(1, answered);
        return new Phase(client.name(), mode, answered / (duration.toNanos() / 1e9), latencies.getValueAtPercentile(50) / 1e6,
                latencies.getValueAtPercentile(99) / 1e6, errors.sum() + (measuredCount - measuredDone.sum()), cpuMicros);
    }

    /** The machine's load average, for the report (the machine is shared). */
    private static final class LoadAverage {
        static String now() {
            try {
                String[] fields = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
                return fields[0] + " " + fields[1] + " " + fields[2];
            } catch (IOException e) {
                return "unknown";
            }
        }
    }
}
