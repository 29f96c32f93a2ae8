package io.somastack.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class OpenLoopLoadTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    private static final byte[] BODY = "{\"model\":\"bench-model\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);

    @Test
    void sendsEveryScheduledRequestAtTheTargetRate() throws InterruptedException {
        try (FixedReplyUpstream upstream = FixedReplyUpstream.start()) {
            Target target = new Target(Target.DIRECT, new InetSocketAddress("127.0.0.1", upstream.port()),
                    HttpConnection.post("127.0.0.1", upstream.port(), "/v1/chat/completions", "key", BODY));
            AtomicInteger windows = new AtomicInteger();

            LoadResult result = new OpenLoopLoad(target, 8, Duration.ofSeconds(5), Duration.ofSeconds(5), QUIET)
                    .run(400, Duration.ofMillis(250), Duration.ofSeconds(1), counting(windows));

            assertThat(result.scheduled()).isEqualTo(400);
            assertThat(result.succeeded()).isEqualTo(400);
            assertThat(result.errorCount()).isZero();
            assertThat(result.achievedRate()).isBetween(380.0, 420.0);
            assertThat(result.percentileMillis(50)).isPositive().isLessThan(result.maxMillis() + 0.001);
            assertThat(windows).hasValue(2);
        }
    }

    @Test
    void eachProgressLineGivesTheLatencyOfTheAnswersSinceTheLineBefore() throws InterruptedException {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        try (FixedReplyUpstream upstream = FixedReplyUpstream.start()) {
            Target target = new Target(Target.DIRECT, new InetSocketAddress("127.0.0.1", upstream.port()),
                    HttpConnection.post("127.0.0.1", upstream.port(), "/v1/chat/completions", "key", BODY));

            new OpenLoopLoad(target, 4, Duration.ofSeconds(5), Duration.ofSeconds(5), new PrintStream(printed, true, StandardCharsets.UTF_8),
                    Duration.ofMillis(250)).run(200, Duration.ofMillis(500), Duration.ofSeconds(1), counting(new AtomicInteger()));
        }

        List<String> lines = printed.toString(StandardCharsets.UTF_8).lines().toList();
        Pattern withLatency = Pattern.compile(
                "\\[200 req/s DIRECT] (warm-up|measuring) \\d+/\\d+ s: \\d+ answered, 0 errors, \\d+ waiting for a connection; "
                        + "the (\\d+) answered since the line before: p50 \\d+\\.\\d{3} ms, p99 \\d+\\.\\d{3} ms, max \\d+\\.\\d{3} ms");
        // The lines share out the answers of the 1.5 s they cover (300 due); a line with no answer since the one before has no latency.
        int reported = lines.stream().map(withLatency::matcher).filter(Matcher::matches).mapToInt(match -> Integer.parseInt(match.group(2))).sum();
        assertThat(lines.stream().filter(line -> line.contains("since the line before"))).allMatch(line -> withLatency.matcher(line).matches());
        assertThat(reported).isBetween(150, 300);
    }

    @Test
    void countsNonSuccessStatusesAsErrorsAndReadsChunkedBodies() throws IOException, InterruptedException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        AtomicInteger calls = new AtomicInteger();
        server.createContext("/", exchange -> {
            try (exchange) {
                exchange.getRequestBody().readAllBytes();
                // Length 0 makes the JDK server send a chunked body.
                exchange.sendResponseHeaders(calls.incrementAndGet() % 2 == 0 ? 429 : 200, 0);
                exchange.getResponseBody().write("{\"answer\":\"chunked\"}".getBytes(StandardCharsets.UTF_8));
            }
        });
        server.start();
        try {
            int port = server.getAddress().getPort();
            Target target = new Target(Target.SOMASTACK, new InetSocketAddress("127.0.0.1", port),
                    HttpConnection.post("127.0.0.1", port, "/", "key", BODY));

            LoadResult result = new OpenLoopLoad(target, 1, Duration.ofSeconds(5), Duration.ofSeconds(5), QUIET)
                    .run(100, Duration.ZERO, Duration.ofMillis(200), counting(new AtomicInteger()));

            assertThat(result.scheduled()).isEqualTo(20);
            assertThat(result.succeeded()).isEqualTo(10);
            assertThat(result.errors()).containsExactly(java.util.Map.entry("HTTP 429", 10L));
        } finally {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    private static OpenLoopLoad.WindowListener counting(AtomicInteger events) {
        return new OpenLoopLoad.WindowListener() {
            @Override
            public void opened() {
                events.incrementAndGet();
            }

            @Override
            public void closed() {
                events.incrementAndGet();
            }
        };
    }
}
