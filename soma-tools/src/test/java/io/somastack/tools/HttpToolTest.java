package io.somastack.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.somastack.gateway.TestGateway;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * HTTP tools end to end against a real tool server on loopback (allow-listed, as an operator
 * would): JSON and SSE answers, the declared-egress check, the SSRF guard on a name resolving to
 * a private address and on a redirect to cloud metadata, and the timeout and size cap.
 */
class HttpToolTest {
    private static HttpServer server;
    private static TestTools soma;
    private static TestTools.Tenant acme;

    @BeforeAll
    static void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/echo", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            answer(exchange, 200, "application/json", "{\"echo\": " + new String(body, StandardCharsets.UTF_8) + "}");
        });
        server.createContext("/stream", exchange -> {
            exchange.getRequestBody().readAllBytes();
            answer(exchange, 200, "text/event-stream", "data: {\"step\": 1}\n\ndata: {\"step\": 2}\n\ndata: {\"done\": true}\n\n");
        });
        server.createContext("/metadata", exchange -> {
            exchange.getResponseHeaders().add("Location", "http://169.254.169.254/latest/meta-data/");
            answer(exchange, 302, "text/plain", "");
        });
        server.createContext("/moved", exchange -> {
            exchange.getResponseHeaders().add("Location", "/echo");
            answer(exchange, 307, "text/plain", "");
        });
        server.createContext("/hang", exchange -> {
            try {
                Thread.sleep(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            answer(exchange, 200, "application/json", "{}");
        });
        server.createContext("/huge", exchange -> {
            answer(exchange, 200, "application/json", "[" + "1,".repeat(300_000) + "1]");
        });
        server.start();
        int port = server.getAddress().getPort();
        ToolsConfig config = ToolsConfig.defaults().withAllowAddresses(List.of("127.0.0.1"))
                .withHttpLimits(Duration.ofSeconds(2), Duration.ofSeconds(1), 256 * 1024);
        Resolver resolver = host -> switch (host) {
            case "tools.test" -> List.of(InetAddress.getByName("127.0.0.1"));
            case "inside.test" -> List.of(InetAddress.getByName("10.9.8.7"));
            default -> throw new java.net.UnknownHostException(host);
        };
        soma = new TestTools(config, resolver);
        acme = soma.tenant("acme");
        String object = "{type: object}";
        String base = "http://127.0.0.1:" + port;
        soma.publishAndInstall(acme, "http-tools", TestTools.bundle("http-tools", "1.0.0",
                List.of("127.0.0.1:" + port, "tools.test", "inside.test"), List.of(
                        TestTools.Tool.remote("echo", "http", base + "/echo", "{type: object, properties: {q: {type: string}}, required: [q]}"),
                        TestTools.Tool.remote("named", "http", "http://tools.test:" + port + "/echo", object),
                        TestTools.Tool.remote("stream", "http", base + "/stream", object),
                        TestTools.Tool.remote("metadata", "http", base + "/metadata", object),
                        TestTools.Tool.remote("moved", "http", base + "/moved", object),
                        TestTools.Tool.remote("hang", "http", base + "/hang", object),
                        TestTools.Tool.remote("huge", "http", base + "/huge", object),
                        TestTools.Tool.remote("inside", "http", "http://inside.test:" + port + "/echo", object),
                        TestTools.Tool.remote("undeclared", "http", "http://127.0.0.2:" + port + "/echo", object)),
                Map.of()));
    }

    private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @AfterAll
    static void stop() {
        soma.close();
        server.stop(0);
    }

    private static void assertFailure(TestGateway.Response response, int status, String reason, String detail) {
        assertThat(response.status()).as(response.raw().body()).isEqualTo(status);
        assertThat(response.json().get("reason").asString()).isEqualTo(reason);
        assertThat(response.json().get("detail").asString()).contains(detail);
    }

    @Test
    void aJsonAnswerIsTheResultAndAStreamIsDeltas() {
        TestGateway.Response echo = soma.invoke(acme.apiKey(), "http-tools", "echo", "{\"q\": \"weather\"}");
        assertThat(echo.status()).as(echo.raw().body()).isEqualTo(200);
        assertThat(echo.json().get("result").get("echo").get("q").asString()).isEqualTo("weather");
        // Egress: the 15 bytes of {"q":"weather"} sent to the tool host, on the call's ledger row.
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE model = 'tool:http-tools/echo' AND egress_bytes = 15")).isEqualTo(1);
        assertThat(soma.invoke(acme.apiKey(), "http-tools", "named", "{}").json().get("result").has("echo")).isTrue();
        assertThat(soma.invoke(acme.apiKey(), "http-tools", "moved", "{}").json().get("result").has("echo")).isTrue();
        assertThat(soma.invoke(acme.apiKey(), "http-tools", "echo", "{}").status()).isEqualTo(400);

        TestGateway.Response stream = soma.invoke(acme.apiKey(), "http-tools", "stream", "{}", "Accept", "text/event-stream");
        List<String> events = stream.raw().body().lines().filter(line -> line.startsWith("event: ")).toList();
        assertThat(events).containsExactly("event: tool.started", "event: tool.delta", "event: tool.delta", "event: tool.delta",
                "event: tool.completed");
        assertThat(stream.raw().body()).contains("\"result\":{\"done\":true}");
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE model LIKE 'tool:http-tools/%' AND upstream_model = 'http'")).isGreaterThanOrEqualTo(4);
    }

    @Test
    void theSsrfGuardAndTheDeclaredEgressRefuseWithTheReason() {
        assertFailure(soma.invoke(acme.apiKey(), "http-tools", "inside", "{}"), 403, "denied", "10.9.8.7, a private address");
        assertFailure(soma.invoke(acme.apiKey(), "http-tools", "metadata", "{}"), 403, "denied", "169.254.169.254");
        assertFailure(soma.invoke(acme.apiKey(), "http-tools", "undeclared", "{}"), 403, "denied", "permissions.egress");
        assertThat(soma.invoke(acme.apiKey(), "http-tools", "undeclared", "{}").json().get("type").asString())
                .isEqualTo("https://somastack.io/problems/egress-refused");
        assertThat(soma.meters.counter("soma.tool.ssrf.refusals", "reason", "private").count()).isGreaterThanOrEqualTo(1);
        assertThat(soma.meters.counter("soma.tool.ssrf.refusals", "reason", "redirect").count()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aHangingServerTimesOutAndAHugeAnswerIsCapped() {
        long started = System.nanoTime();
        assertFailure(soma.invoke(acme.apiKey(), "http-tools", "hang", "{}"), 502, "timeout", "1000 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        assertFailure(soma.invoke(acme.apiKey(), "http-tools", "huge", "{}"), 502, "output_limit", "262144 bytes");
    }
}
