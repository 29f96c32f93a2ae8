package io.somastack.server;

import static io.somastack.server.TestServer.ADMIN_KEY;
import static io.somastack.server.TestServer.assertProblem;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;
import picocli.CommandLine;

/**
 * What an attacker or a careless client tried at the edge (issue 8): every answer is a
 * problem document, limits hold for every transfer encoding, nothing is public that should
 * not be, and session tokens have one valid spelling.
 */
class EdgeHardeningTest {
    private static final String METRICS_TOKEN = "metrics-scraper-token-0123456789";
    private static TestServer soma;
    private static String tenantId;
    private static String key;

    @BeforeAll
    static void start() {
        soma = TestServer.start("""
                metrics:
                  token: %s
                tiers:
                  tiny:
                    rpm: 3
                """.formatted(METRICS_TOKEN));
        tenantId = soma.tenant("edge", "");
        key = soma.key(tenantId, "{}");
    }

    @AfterAll
    static void stop() {
        if (soma != null) {
            soma.close();
        }
    }

    @Test
    void metricsNeedTheMetricsTokenOrTheOperatorKey() {
        assertProblem(soma.get("/metrics", null), 401, "missing-credentials");
        assertProblem(soma.get("/metrics", key), 403, "admin-required");
        assertThat(soma.get("/metrics", METRICS_TOKEN).status()).isEqualTo(200);
        TestServer.Response scraped = soma.get("/metrics", ADMIN_KEY);
        assertThat(scraped.status()).isEqualTo(200);
        assertThat(scraped.body()).contains("http_server_requests_seconds_count");
    }

    @Test
    void nullAndEmptyBodiesAreBadRequestsOnEveryJsonRoute() {
        assertProblem(soma.post("/v1/chat/completions", key, "null"), 400, "invalid-request");
        assertProblem(soma.post("/v1/embeddings", key, "null"), 400, "invalid-request");
        assertProblem(soma.post("/v1/admin/tenants", ADMIN_KEY, "null"), 400, "invalid-request");
        assertProblem(soma.post("/v1/admin/tenants/" + tenantId + "/keys", ADMIN_KEY, "null"), 400, "invalid-request");
        assertProblem(soma.post("/v1/embeddings", key, ""), 400, "invalid-request");
    }

    @Test
    void textTheEmbedderSeesAsEmptyIsABadRequest() {
        TestServer.Response zeroWidth = soma.post("/v1/embeddings", key, "{\"model\":\"all-minilm-l6-v2-q\",\"input\":\"\\u200b\"}");
        assertThat(zeroWidth.status()).as(zeroWidth.body()).isEqualTo(400);
        assertThat(zeroWidth.header("Content-Type")).startsWith("application/problem+json");
        assertProblem(soma.post("/v1/embeddings", key, "{\"model\":\"all-minilm-l6-v2-q\",\"input\":\"\\ud800\"}"), 400, "invalid-request");
    }

    @Test
    void nulAndOutOfRangeValuesAreRefusedWithoutSqlInTheAnswer() {
        TestServer.Response nul = soma.post("/v1/admin/tenants", ADMIN_KEY, "{\"name\":\"a\\u0000b\"}");
        assertProblem(nul, 400, "invalid-request");
        assertThat(nul.json().get("detail").asString()).isEqualTo("Field 'name' holds a NUL character (U+0000) at character 1, which cannot be stored");

        for (String budget : new String[] {"1000000000000000", "1E+999999999", "\"1e15\""}) {
            TestServer.Response huge = soma.post("/v1/admin/tenants", ADMIN_KEY, "{\"name\":\"rich\",\"monthly_budget\":%s}".formatted(budget));
            assertThat(huge.status()).as(huge.body()).isEqualTo(400);
            assertThat(huge.body()).contains("monthly_budget").doesNotContainIgnoringCase("insert").doesNotContainIgnoringCase("sql")
                    .doesNotContain("Exception");
        }
        assertThat(soma.get("/v1/admin/tenants", ADMIN_KEY).body()).doesNotContain("\"rich\"");

        TestServer.Response nulParameter = soma.get("/v1/capsules?q=a%00b", key);
        assertProblem(nulParameter, 400, "invalid-request");
        assertThat(nulParameter.json().get("detail").asString()).startsWith("'q' holds a NUL character");
        assertProblem(soma.get("/v1/usage?from=%ED%A0%80", key), 400, "invalid-request");
        assertProblem(soma.get("/v1/usage?from=-999999999-01-01T00:00:00Z", key), 400, null);
        assertProblem(soma.get("/v1/decisions?from=-999999999-01-01T00:00:00Z", key), 400, null);
    }

    @Test
    void aTenantCannotBeCreatedInARegionThisDeploymentDoesNotKnow() {
        TestServer.Response response = soma.post("/v1/admin/tenants", ADMIN_KEY, "{\"name\":\"elsewhere\",\"home_region\":\"eu\"}");

        assertProblem(response, 400, "unknown-region");
        assertThat(response.json().get("known_regions").get(0).asString()).isEqualTo("local");
        assertThat(soma.get("/v1/admin/tenants", ADMIN_KEY).body()).doesNotContain("elsewhere");
    }

    @Test
    void aChunkedBodyMeetsTheSameLimitAsADeclaredOne() throws Exception {
        // 5 MB of JSON with no Content-Length: the 4 MiB limit holds for the bytes read.
        byte[] big = ("{\"definition\":{\"name\":\"p\",\"kind\":\"admission\",\"rules\":[],\"padding\":\"" + "x".repeat(5 * 1024 * 1024) + "\"}}").getBytes(UTF_8);
        HttpRequest request = HttpRequest.newBuilder(URI.create(soma.base + "/v1/policies/evaluate"))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))).build();
        HttpResponse<String> response;
        try {
            response = soma.http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            // The server may close the connection while the client still sends; then the answer is lost to
            // this client, which is acceptable, but it must never be a 200: check the raw exchange instead.
            response = null;
        }
        if (response != null) {
            assertThat(response.statusCode()).as(response.body()).isEqualTo(413);
            assertThat(response.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/problem+json");
        }
        String raw = raw("POST /v1/policies/evaluate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key
                + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", chunked(big));
        assertThat(raw).startsWith("HTTP/1.1 413").contains("application/problem+json").contains("request-body-too-large".replace("request-", ""));
    }

    @Test
    void errorsTheWebServerAnswersItselfAreProblemDocuments() throws Exception {
        assertThat(raw("GET /v1/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", new byte[0]))
                .startsWith("HTTP/1.1 400").contains("application/problem+json").contains("\"type\":\"https://somastack.io/problems/");
        assertThat(raw("GET /v1/models?q=" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", new byte[0]))
                .startsWith("HTTP/1.1 414").contains("application/problem+json").contains("uri-too-long");
        assertThat(raw("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(70_000) + "\r\nConnection: close\r\n\r\n", new byte[0]))
                .startsWith("HTTP/1.1 431").contains("application/problem+json").contains("headers-too-large");
        assertThat(raw("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key
                + "\r\nContent-Type: application/json\r\nContent-Length: 200000000\r\nConnection: close\r\n\r\n", new byte[0]))
                .startsWith("HTTP/1.1 413").contains("application/problem+json").contains("body-too-large");
    }

    @Test
    void sessionsAreRateLimitedLikeEveryOtherRoute() {
        String tiny = soma.tenant("tiny-sessions", ",\"tier\":\"tiny\"");
        String tinyKey = soma.key(tiny, "{}");
        for (int i = 0; i < 3; i++) {
            TestServer.Response created = soma.post("/v1/sessions", tinyKey, null);
            assertThat(created.status()).as(created.body()).isEqualTo(201);
            assertThat(created.header("RateLimit-Remaining")).isEqualTo(Integer.toString(2 - i));
        }

        TestServer.Response limited = soma.post("/v1/sessions", tinyKey, null);

        assertProblem(limited, 429, "rate-limited");
        assertThat(limited.header("RateLimit-Limit")).isEqualTo("3");
        assertThat(limited.header("RateLimit-Remaining")).isEqualTo("0");
        assertThat(limited.header("RateLimit-Reset")).isNotBlank();
    }

    @Test
    void sessionTokensHaveOneSpellingAndNoMoreThanTheConfiguredLifetime() throws Exception {
        ECKey signingKey = signingKey();
        UUID keyId = UUID.fromString(SignedJWT.parse(soma.post("/v1/sessions", key, null).json().get("token").asString()).getJWTClaimsSet().getSubject());
        Instant now = Instant.now();
        JWTClaimsSet.Builder good = new JWTClaimsSet.Builder().issuer("somastack").audience("somastack-api").subject(keyId.toString())
                .claim("tid", tenantId).claim("scope", "*").claim("region", "local")
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(Duration.ofMinutes(10))));

        SignedJWT token = sign(signingKey, good.build());
        assertThat(soma.get("/v1/models", withS(token, false)).status()).isEqualTo(200);
        assertProblem(soma.get("/v1/models", withS(token, true)), 401, "token-signature-invalid");

        String notYet = withS(sign(signingKey, good.notBeforeTime(Date.from(now.plus(Duration.ofMinutes(5)))).build()), false);
        assertProblem(soma.get("/v1/models", notYet), 401, "invalid-token");

        String tooLong = withS(sign(signingKey, good.notBeforeTime(null).expirationTime(Date.from(now.plus(Duration.ofDays(365)))).build()), false);
        assertProblem(soma.get("/v1/models", tooLong), 401, "invalid-token");

        // Tokens SomaStack issues are always in the low-S form, so they always verify.
        for (int i = 0; i < 20; i++) {
            String issued = soma.post("/v1/sessions", key, null).json().get("token").asString();
            assertThat(soma.get("/v1/models", issued).status()).isEqualTo(200);
        }
    }

    @Test
    void everyCommandAnswersHelp() {
        for (String[] args : new String[][] {{"tenants", "--help"}, {"tenants", "create", "--help"}, {"keys", "create", "-h"},
                {"audit", "verify", "--help"}, {"capsule", "publish", "--help"}, {"memory", "--help"}}) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
            assertThat(code).as(String.join(" ", args) + ": " + err).isZero();
            assertThat(out.toString()).as(String.join(" ", args)).startsWith("Usage: somastack " + args[0]);
            assertThat(err.toString()).isEmpty();
        }
    }

    /** This installation's session signing key, read from its database (as an insider with database access would). */
    private static ECKey signingKey() throws Exception {
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setURL(soma.databaseUrl);
        dataSource.setUser("postgres");
        String jwk = Jdbi.create(dataSource).withHandle(handle -> handle
                .createQuery("SELECT private_jwk FROM signing_keys WHERE retired_at IS NULL").mapTo(String.class).one());
        return ECKey.parse(jwk);
    }

    private static SignedJWT sign(ECKey key, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID()).build(), claims);
        jwt.sign(new ECDSASigner(key));
        return jwt;
    }

    /** The token with its signature's s in the high (n - s) or low form: both are valid ECDSA signatures. */
    private static String withS(SignedJWT jwt, boolean high) {
        BigInteger order = new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);
        byte[] signature = jwt.getSignature().decode();
        BigInteger s = new BigInteger(1, Arrays.copyOfRange(signature, 32, 64));
        boolean isHigh = s.compareTo(order.shiftRight(1)) > 0;
        BigInteger wanted = isHigh == high ? s : order.subtract(s);
        byte[] bytes = wanted.toByteArray();
        byte[] result = Arrays.copyOf(signature, 64);
        Arrays.fill(result, 32, 64, (byte) 0);
        int length = Math.min(bytes.length, 32);
        System.arraycopy(bytes, bytes.length - length, result, 64 - length, length);
        String serialized = jwt.serialize();
        return serialized.substring(0, serialized.lastIndexOf('.') + 1) + Base64URL.encode(result);
    }

    private static byte[] chunked(byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int chunk = 64 * 1024;
        for (int offset = 0; offset < body.length; offset += chunk) {
            int length = Math.min(chunk, body.length - offset);
            out.writeBytes((Integer.toHexString(length) + "\r\n").getBytes(UTF_8));
            out.write(body, offset, length);
            out.writeBytes("\r\n".getBytes(UTF_8));
        }
        out.writeBytes("0\r\n\r\n".getBytes(UTF_8));
        return out.toByteArray();
    }

    /** One request over a raw socket (for what HTTP clients refuse to send), answered up to 64 KB. */
    private static String raw(String head, byte[] body) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", soma.server.port())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            try {
                out.write(head.getBytes(UTF_8));
                out.write(body);
                out.flush();
            } catch (IOException e) {
                // The server answered and closed before reading everything: read what it said.
            }
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            try {
                for (int n; answer.size() < 65536 && (n = in.read(buffer)) > 0; ) {
                    answer.write(buffer, 0, n);
                }
            } catch (IOException e) {
                // connection reset after the answer
            }
            return answer.toString(UTF_8);
        }
    }
}
