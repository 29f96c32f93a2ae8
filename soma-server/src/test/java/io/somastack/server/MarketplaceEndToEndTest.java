package io.somastack.server;

import static io.somastack.server.TestServer.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import io.somastack.policy.TestCapsules;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The publisher's and the tenant's whole path with the real command line against the real
 * server: init, keygen, pack, sign, publish; search, install, update; revoked by the operator.
 */
class MarketplaceEndToEndTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static synchronized Run cli(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
            int code = Main.commandLine().execute(args);
            return new Run(code, stdout.toString(StandardCharsets.UTF_8), stderr.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void aPublisherPublishesWithTheCliAndATenantInstallsUntilTheOperatorRevokes() throws Exception {
        try (TestServer soma = TestServer.start("")) {
            String publisherKey = soma.key(soma.tenant("acme-publishing", ""), "{}");
            String tenantKey = soma.key(soma.tenant("acme-customer", ""), "{}");
            Path capsule = dir.resolve("weather-bot");

            assertThat(cli("capsule", "init", capsule.toString(), "--name", "weather-bot", "--publisher", "acme").code()).isZero();
            Files.writeString(capsule.resolve("sbom.cdx.json"), TestCapsules.sbom("is-number.cdx.json"));
            assertThat(cli("capsule", "keygen", "--output-prefix", dir.resolve("acme").toString()).code()).isZero();
            Path bundle = dir.resolve("weather-bot.capsule");
            Run packed = cli("capsule", "pack", capsule.toString(), "-o", bundle.toString());
            assertThat(packed.code()).as(packed.err()).isZero();
            assertThat(packed.out()).contains("weather-bot@0.1.0 sha256:");
            Path signature = dir.resolve("weather-bot.sig");
            assertThat(cli("capsule", "sign", "--key", dir.resolve("acme.key").toString(), "--output-signature", signature.toString(),
                    bundle.toString()).code()).isZero();
            String publicKey = Files.readString(dir.resolve("acme.pub"));
            String trustKey = Json.text(Map.of("name", "acme release", "role", "publisher", "public_key_pem", publicKey));

            // Publishing needs the publisher's own key to be one it trusts.
            Run refused = cli("capsule", "publish", bundle.toString(), "--signature", signature.toString(), "--url", soma.base, "--api-key", publisherKey);
            assertThat(refused.code()).isEqualTo(1);
            assertThat(refused.err()).contains("signature-refused");
            assertThat(soma.post("/v1/policy/trusted-keys", publisherKey, trustKey).status()).isEqualTo(201);
            Run published = cli("capsule", "publish", bundle.toString(), "--signature", signature.toString(), "--url", soma.base, "--api-key", publisherKey);
            assertThat(published.code()).as(published.err()).isZero();
            assertThat(published.out()).contains("\"version\" : \"0.1.0\"");

            // The tenant finds it, trusts the publisher, requires a trusted signer, installs.
            Run found = cli("capsule", "search", "weather", "--url", soma.base, "--api-key", tenantKey);
            assertThat(found.code()).isZero();
            assertThat(found.out()).contains("\"name\" : \"weather-bot\"");
            assertThat(soma.post("/v1/policies", tenantKey, """
                    {"name": "trusted-signer", "kind": "admission", "matchConditions": [],
                     "validations": [{"expression": "signatures.keys.exists(k, k.role == 'publisher')", "message": "a trusted publisher must sign"}]}""")
                    .status()).isEqualTo(201);
            Run denied = cli("capsule", "install", "weather-bot", "--url", soma.base, "--api-key", tenantKey);
            assertThat(denied.code()).isEqualTo(1);
            assertThat(denied.err()).contains("admission-denied").contains("a trusted publisher must sign");
            assertThat(soma.post("/v1/policy/trusted-keys", tenantKey, trustKey).status()).isEqualTo(201);
            Run installed = cli("capsule", "install", "weather-bot", "--url", soma.base, "--api-key", tenantKey);
            assertThat(installed.code()).as(installed.err()).isZero();
            assertThat(installed.out()).contains("\"runnable\" : true");

            // The publisher ships 0.2.0; the tenant updates (admission again).
            Files.writeString(capsule.resolve("capsule.yaml"), Files.readString(capsule.resolve("capsule.yaml")).replace("version: 0.1.0", "version: 0.2.0"));
            Path bundle2 = dir.resolve("weather-bot-0.2.0.capsule");
            Path signature2 = dir.resolve("weather-bot-0.2.0.sig");
            assertThat(cli("capsule", "pack", capsule.toString(), "-o", bundle2.toString()).code()).isZero();
            assertThat(cli("capsule", "sign", "--key", dir.resolve("acme.key").toString(), "--output-signature", signature2.toString(),
                    bundle2.toString()).code()).isZero();
            assertThat(cli("capsule", "publish", bundle2.toString(), "--signature", signature2.toString(), "--url", soma.base, "--api-key",
                    publisherKey).code()).isZero();
            Run updated = cli("capsule", "update", "weather-bot", "--url", soma.base, "--api-key", tenantKey);
            assertThat(updated.code()).as(updated.err()).isZero();
            assertThat(updated.out()).contains("\"version\" : \"0.2.0\"");

            // The operator revokes; the tenant sees it on its next request.
            assertProblem(soma.post("/v1/capsules/weather-bot/versions/0.2.0/revoke", tenantKey, "{\"reason\": \"not mine\"}"), 403, "not-publisher");
            TestServer.Response revoked = soma.post("/v1/capsules/weather-bot/versions/0.2.0/revoke", TestServer.ADMIN_KEY,
                    "{\"reason\": \"malware report 42\"}");
            assertThat(revoked.status()).as(revoked.body()).isEqualTo(200);
            assertThat(soma.get("/v1/installed-capsules/weather-bot", tenantKey).json().get("runnable").asBoolean()).isFalse();
            Run again = cli("capsule", "install", "weather-bot", "--version", "0.2.0", "--url", soma.base, "--api-key", tenantKey);
            assertThat(again.code()).isEqualTo(1);
            assertThat(again.err()).contains("capsule-revoked").contains("malware report 42");

            // Every decision is on record, and the audit chain holds.
            TestServer.Response decisions = soma.get("/v1/decisions?capsule=weather-bot", tenantKey);
            assertThat(decisions.json().get("data").size()).isEqualTo(3);
            assertThat(decisions.json().get("data").get(0).get("capsule_version").asString()).isEqualTo("0.2.0");
            assertThat(decisions.json().get("data").get(1).get("outcome").asString()).isEqualTo("admitted");
            assertThat(decisions.json().get("data").get(2).get("outcome").asString()).isEqualTo("denied");
            assertThat(cli("audit", "verify", "--url", soma.base, "--admin-key", TestServer.ADMIN_KEY).code()).isZero();
        }
    }
}
