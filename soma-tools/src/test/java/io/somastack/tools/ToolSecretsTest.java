package io.somastack.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.sun.net.httpserver.HttpServer;
import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Per-tenant tool secrets end to end: put through the API, named in a tool's settings, sent as
 * a header to a real loopback HTTP tool server and a real MCP server, and never seen again: not
 * in any API answer, captured log line, audit entry, event or stored row in clear. Another
 * tenant's secret is not usable, a deleted one is 409 at call time, and every bad input is a
 * problem document.
 */
class ToolSecretsTest {
    private static final String SECRET = "Bearer tok-" + UUID.randomUUID();
    private static HttpServer http;
    private static volatile String httpAuthorization;
    private static McpToolServer mcp;
    private static TestTools soma;
    private static TestTools.Tenant acme;
    private static final ListAppender<ILoggingEvent> logs = new ListAppender<>();

    @BeforeAll
    static void start() throws IOException {
        // Every log line of SomaStack at DEBUG and everything else at INFO is captured from here on.
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ((Logger) LoggerFactory.getLogger("io.somastack")).setLevel(Level.DEBUG);
        root.setLevel(Level.INFO);
        logs.start();
        root.addAppender(logs);
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.createContext("/whoami", exchange -> {
            exchange.getRequestBody().readAllBytes();
            httpAuthorization = exchange.getRequestHeaders().getFirst("Authorization");
            // The tool answers whether it was let in, never the credential itself.
            byte[] body = ("{\"authorized\": " + SECRET.equals(httpAuthorization) + "}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        http.start();
        mcp = new McpToolServer();
        soma = new TestTools(ToolsConfig.defaults().withAllowAddresses(List.of("127.0.0.1")));
        acme = soma.tenant("acme");
        String whoami = "http://127.0.0.1:" + http.getAddress().getPort() + "/whoami";
        // Settings may be put before the capsule is installed: its MCP install check sends them.
        assertThat(soma.gateway.send("PUT", "/v1/tool-secrets/api-token", acme.apiKey(), Json.text(Map.of("value", SECRET))).status()).isEqualTo(201);
        for (String tool : List.of("whoami", "forecast", "again")) {
            TestGateway.Response put = soma.gateway.send("PUT", "/v1/tools/secret-tools/%s/settings".formatted(tool), acme.apiKey(),
                    "{\"headers\": {\"Authorization\": {\"secret\": \"api-token\"}}}");
            assertThat(put.status()).as(put.raw().body()).isEqualTo(200);
        }
        soma.publishAndInstall(acme, "secret-tools", TestTools.bundle("secret", "secret-tools", "1.0.0",
                List.of("127.0.0.1"), List.of(
                        TestTools.Tool.remote("whoami", "http", whoami, "{type: object}"),
                        TestTools.Tool.remote("again", "http", whoami, "{type: object}"),
                        TestTools.Tool.remote("forecast", "mcp", mcp.url(), "{type: object}"),
                        TestTools.Tool.remote("plain", "http", whoami, "{type: object}")), Map.of()));
    }

    @AfterAll
    static void stop() {
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
        soma.close();
        mcp.close();
        http.stop(0);
    }

    @Test
    void aSecretNamedInSettingsReachesTheHttpAndMcpHostsAndIsNeverShown() {
        TestGateway.Response replaced = soma.gateway.send("PUT", "/v1/tool-secrets/api-token", acme.apiKey(), Json.text(Map.of("value", SECRET)));
        assertThat(replaced.status()).isEqualTo(200);
        assertThat(replaced.json().get("name").asString()).isEqualTo("api-token");
        TestGateway.Response listed = soma.gateway.send("GET", "/v1/tool-secrets", acme.apiKey(), null);
        assertThat(listed.json().get("data").get(0).get("name").asString()).isEqualTo("api-token");
        assertThat(listed.json().get("data").get(0).has("created_at")).isTrue();
        TestGateway.Response settings = soma.gateway.send("GET", "/v1/tools/secret-tools/whoami/settings", acme.apiKey(), null);
        assertThat(settings.json().get("headers").get("Authorization").get("secret").asString()).isEqualTo("api-token");

        TestGateway.Response whoami = soma.invoke(acme.apiKey(), "secret-tools", "whoami", "{}");
        assertThat(whoami.status()).as(whoami.raw().body()).isEqualTo(200);
        assertThat(httpAuthorization).isEqualTo(SECRET);
        assertThat(whoami.json().get("result").get("authorized").asBoolean()).isTrue();
        TestGateway.Response streamed = soma.invoke(acme.apiKey(), "secret-tools", "whoami", "{}", "Accept", "text/event-stream");
        assertThat(streamed.raw().body()).contains("\"authorized\":true");
        // A tool without settings sends no credential.
        assertThat(soma.invoke(acme.apiKey(), "secret-tools", "plain", "{}").json().get("result").get("authorized").asBoolean()).isFalse();
        assertThat(httpAuthorization).isNull();

        TestGateway.Response forecast = soma.invoke(acme.apiKey(), "secret-tools", "forecast", "{\"city\": \"Oslo\"}");
        assertThat(forecast.status()).as(forecast.raw().body()).isEqualTo(200);
        assertThat(mcp.lastAuthorization()).isEqualTo(SECRET);

        for (TestGateway.Response answer : List.of(replaced, listed, settings, whoami, streamed, forecast)) {
            assertThat(answer.raw().body()).doesNotContain(SECRET).doesNotContain(SECRET.substring(7));
        }
        String secretText = SECRET.substring(7);
        assertThat(soma.count("SELECT count(*) FROM audit_log WHERE tenant_id IS NOT NULL")).isPositive();
        assertThat(soma.count("SELECT count(*) FROM audit_log WHERE detail LIKE '%" + secretText + "%' OR subject LIKE '%" + secretText + "%'")).isZero();
        assertThat(soma.count("SELECT count(*) FROM outbox WHERE data::text LIKE '%" + secretText + "%'")).isZero();
        assertThat(soma.count("SELECT count(*) FROM idempotency WHERE position(convert_to('" + secretText + "', 'UTF8') in body) > 0")).isZero();
        assertThat(soma.count("SELECT count(*) FROM tool_secrets WHERE position(convert_to('" + secretText + "', 'UTF8') in sealed) > 0")).isZero();
        assertThat(logs.list).isNotEmpty();
        assertThat(logs.list).noneMatch(event -> event.getFormattedMessage().contains(secretText)
                || (event.getThrowableProxy() != null && event.getThrowableProxy().getMessage() != null
                        && event.getThrowableProxy().getMessage().contains(secretText)));
    }

    @Test
    void anotherTenantsSecretIsNotUsable() {
        TestTools.Tenant globex = soma.tenant("globex");
        TestGateway.Response borrowed = soma.gateway.send("PUT", "/v1/tools/secret-tools/whoami/settings", globex.apiKey(),
                "{\"headers\": {\"Authorization\": {\"secret\": \"api-token\"}}}");
        assertThat(borrowed.status()).as(borrowed.raw().body()).isEqualTo(409);
        assertThat(borrowed.json().get("type").asString()).endsWith("/tool-secret-missing");
        assertThat(soma.gateway.send("GET", "/v1/tool-secrets", globex.apiKey(), null).json().get("data")).isEmpty();

        // Even acme's sealed row copied into globex's name does not open: the associated data binds it to its tenant.
        TenantId globexId = new TenantId(UUID.fromString(soma.strings("SELECT id::text FROM tenants WHERE name = 'globex'").getFirst()));
        soma.database.jdbi().useHandle(handle -> handle.execute("""
                INSERT INTO tool_secrets (tenant_id, name, sealed, created_at, updated_at)
                SELECT ?, name, sealed, created_at, updated_at FROM tool_secrets WHERE name = 'api-token'""", globexId.value()));
        assertThat(soma.gateway.send("PUT", "/v1/tools/secret-tools/whoami/settings", globex.apiKey(),
                "{\"headers\": {\"Authorization\": {\"secret\": \"api-token\"}}}").status()).isEqualTo(200);
        assertThatThrownBy(() -> soma.tools.settings().headers(globexId, "secret-tools", "whoami"))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.getMessage()).contains("'api-token' does not open"));
    }

    @Test
    void aDeletedSecretIsA409WhenTheToolIsCalled() {
        assertThat(soma.gateway.send("PUT", "/v1/tool-secrets/short-lived", acme.apiKey(), "{\"value\": \"Bearer gone\"}").status()).isEqualTo(201);
        assertThat(soma.gateway.send("PUT", "/v1/tools/secret-tools/again/settings", acme.apiKey(),
                "{\"headers\": {\"Authorization\": {\"secret\": \"short-lived\"}}}").status()).isEqualTo(200);
        assertThat(soma.gateway.send("DELETE", "/v1/tool-secrets/short-lived", acme.apiKey(), null).status()).isEqualTo(204);
        TestGateway.Response called = soma.invoke(acme.apiKey(), "secret-tools", "again", "{}");
        assertThat(called.status()).as(called.raw().body()).isEqualTo(409);
        assertThat(called.json().get("type").asString()).endsWith("/tool-secret-missing");
        assertThat(called.json().get("detail").asString()).contains("short-lived", "secret-tools/again");
        assertThat(soma.gateway.send("DELETE", "/v1/tool-secrets/short-lived", acme.apiKey(), null).status()).isEqualTo(404);
    }

    @Test
    void everyBadInputIsAProblemThatNeverQuotesTheValue() {
        String key = acme.apiKey();
        assertProblem(soma.gateway.send("PUT", "/v1/tool-secrets/Not_Lower", key, "{\"value\": \"x\"}"), 400, "name is 1 to 64");
        assertProblem(soma.gateway.send("PUT", "/v1/tool-secrets/ok", key, "[]"), 400, "{\"value\"");
        assertProblem(soma.gateway.send("PUT", "/v1/tool-secrets/ok", key, "{\"value\": 5}"), 400, "{\"value\"");
        assertProblem(soma.gateway.send("PUT", "/v1/tool-secrets/ok", key, "{\"value\": \"x\", \"more\": 1}"), 400, "nothing else");
        assertProblem(soma.gateway.send("PUT", "/v1/tool-secrets/ok", key, "{\"value\": \"\"}"), 400, "1 to 8192");
        assertProblem(soma.gateway.send("PUT", "/v1/tool-secrets/ok", key, Json.text(Map.of("value", "x".repeat(8193)))), 400, "1 to 8192");
        TestGateway.Response newline = soma.gateway.send("PUT", "/v1/tool-secrets/ok", key, Json.text(Map.of("value", "hunter2\r\nX-Evil: 1")));
        assertProblem(newline, 400, "visible ASCII");
        assertThat(newline.raw().body()).doesNotContain("hunter2");
        assertProblem(soma.gateway.send("DELETE", "/v1/tool-secrets/absent", key, null), 404, "no tool secret 'absent'");

        String settings = "/v1/tools/secret-tools/whoami/settings";
        assertProblem(soma.gateway.send("PUT", settings, key, "{}"), 400, "headers must be an object");
        assertProblem(soma.gateway.send("PUT", settings, key, "{\"headers\": {}, \"extra\": 1}"), 400, "unknown field 'extra'");
        TestGateway.Response many = soma.gateway.send("PUT", settings, key, """
                {"headers": {"Bad Name": {"secret": "api-token"}, "Host": {"secret": "api-token"}, "X-Plain": "text",
                 "X-Ref": {"secret": "Bad!"}, "x-a": {"secret": "api-token"}, "X-A": {"secret": "api-token"}}}""");
        assertProblem(many, 400, "5 problems");
        assertThat(many.json().get("errors")).hasSize(5);
        assertThat(many.json().get("detail").asString()).contains("a header name is", "headers.Host is set by SomaStack",
                "headers.X-Plain must be {\"secret\"", "headers.X-Ref.secret is not a tool secret name", "given twice");
        StringBuilder seventeen = new StringBuilder("{\"headers\": {");
        for (int i = 0; i < 17; i++) {
            seventeen.append(i == 0 ? "" : ", ").append("\"X-H").append(i).append("\": {\"secret\": \"api-token\"}");
        }
        assertProblem(soma.gateway.send("PUT", settings, key, seventeen + "}}"), 400, "at most 16");
        assertProblem(soma.gateway.send("PUT", "/v1/tools/Bad_Capsule/whoami/settings", key, "{\"headers\": {}}"), 400, "capsule name");
        assertProblem(soma.gateway.send("GET", "/v1/tools/secret-tools/bad.tool/settings", key, null), 400, "tool name");
        assertProblem(soma.gateway.send("PUT", settings, key, "{\"headers\": {\"X-Key\": {\"secret\": \"nope\"}}}"), 409, "no tool secret [nope]");

        // Credentials are capsule configuration: a key that may only invoke tools cannot read or write them.
        String invoker = soma.gateway.tenantKey("initech", "tools:invoke");
        assertProblem(soma.gateway.send("GET", "/v1/tool-secrets", invoker, null), 403, "capsules:read");
        assertProblem(soma.gateway.send("PUT", "/v1/tool-secrets/api-token", invoker, "{\"value\": \"x\"}"), 403, "capsules:write");
        assertProblem(soma.gateway.send("PUT", settings, invoker, "{\"headers\": {}}"), 403, "capsules:write");
    }

    private static void assertProblem(TestGateway.Response response, int status, String detail) {
        assertThat(response.status()).as(response.raw().body()).isEqualTo(status);
        assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        assertThat(response.json().get("detail").asString()).contains(detail);
    }
}
