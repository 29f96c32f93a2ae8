package io.somastack.agents;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.abort;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import io.somastack.kernel.Json;
import io.somastack.models.FixtureReply;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Every answer carries a signed record of where it came from, which verifies offline against
 * the server's JWKS, with our verifier and with openssl, and fails after a one-byte change.
 */
class ProvenanceTest {
    private static TestAgents soma;
    private static TestAgents.Client acme;
    private static JsonNode run;
    private static String envelope;

    @BeforeAll
    static void runOnce() {
        soma = new TestAgents(AgentsConfig.defaults());
        acme = soma.tenant("acme");
        soma.publishAndInstall(acme, "acme-cited", TestAgents.agentBundle("acme", "acme-cited", "1.2.0", TestAgents.MODEL, true,
                List.of("agent"), "0.50", ""));
        var remembered = soma.gateway.send("POST", "/v1/memories", acme.apiKey(), Json.text(Map.of("memories", List.of(Map.of(
                "text", "The office opens at nine", "scope", Map.of("kind", "agent", "id", "acme-cited"), "provenance", Map.of("kind", "document"))))));
        assertThat(remembered.status()).as(remembered.raw().body()).isEqualTo(201);
        soma.openAi.enqueue(new FixtureReply.ToolUse("transform", "{\"text\":\"nine\"}", 20, 8), new FixtureReply.Text("At nine [1]", 30, 4));
        run = soma.run(acme.apiKey(), "acme-cited", "{\"input\": \"When does the office open?\"}").json();
        var answer = soma.gateway.send("GET", "/v1/runs/%s/provenance".formatted(run.get("id").asString()), acme.apiKey(), null);
        assertThat(answer.status()).as(answer.raw().body()).isEqualTo(200);
        envelope = answer.raw().body();
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    @Test
    void theRecordNamesTheCapsuleEveryCallTheRecallAndTheAnswer() {
        JsonNode statement = Json.mapper().readTree(Base64.getDecoder().decode(Json.mapper().readTree(envelope).get("payload").asString()));
        JsonNode predicate = statement.get("predicate");

        assertThat(statement.get("_type").asString()).isEqualTo("https://in-toto.io/Statement/v1");
        assertThat(predicate.get("capsule").get("name").asString()).isEqualTo("acme-cited");
        assertThat(predicate.get("capsule").get("version").asString()).isEqualTo("1.2.0");
        assertThat(predicate.get("capsule").get("digest").asString()).startsWith("sha256:");
        assertThat(predicate.get("answer_sha256").asString()).isEqualTo(AnswerProvenance.sha256("At nine [1]"))
                .isEqualTo(statement.get("subject").get(0).get("digest").get("sha256").asString());
        assertThat(predicate.get("model_calls")).hasSize(2);
        assertThat(predicate.get("model_calls").valueStream().map(call -> call.get("ledger_id").asString()).toList())
                .allSatisfy(ledger -> assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE id = '%s'".formatted(ledger))).isEqualTo(1));
        JsonNode tool = predicate.get("tool_calls").get(0);
        assertThat(tool.get("name").asString()).isEqualTo("transform");
        assertThat(tool.get("executor").asString()).isEqualTo("wasm");
        assertThat(tool.get("arguments_sha256").asString()).startsWith("sha256:").hasSize(71);
        assertThat(tool.get("result_sha256").asString()).startsWith("sha256:").hasSize(71);
        assertThat(tool.get("decision_ids")).hasSize(1);
        JsonNode recall = predicate.get("recalls").get(0);
        assertThat(recall.get("revision_ids")).hasSize(1);
        assertThat(predicate.get("policy_decisions").valueStream().map(decision -> decision.get("kind").asString()))
                .containsExactly("agent_run", "tool_call");
        // The recalled fact was cited to the model, and the recall is on record.
        JsonNode system = soma.openAi.requests().get(soma.openAi.requests().size() - 2).body().get("messages").get(0);
        assertThat(system.get("content").asString()).contains("[1] The office opens at nine");
        assertThat(soma.gateway.send("GET", "/v1/recalls/" + recall.get("recall_id").asString(), acme.apiKey(), null).status()).isEqualTo(200);
    }

    @Test
    void verifiesAgainstThePublishedKeysAndFailsAfterAOneByteChange() {
        String jwks = publishedKeys();

        assertThat(AnswerProvenance.verify(envelope.getBytes(StandardCharsets.UTF_8), jwks).valid()).isTrue();

        byte[] changed = envelope.getBytes(StandardCharsets.UTF_8);
        int at = envelope.indexOf("\"payload\":\"") + 40;
        changed[at] = (byte) (changed[at] == 'A' ? 'B' : 'A');
        AnswerProvenance.Verification tampered = AnswerProvenance.verify(changed, jwks);
        assertThat(tampered.valid()).isFalse();
        assertThat(tampered.problems()).isNotEmpty();
    }

    @Test
    void openSslVerifiesTheSignatureIndependently() throws Exception {
        Path openssl = Path.of("/usr/bin/openssl");
        if (!Files.isExecutable(openssl)) {
            assertThat(System.getenv("CI")).as("CI=true needs /usr/bin/openssl to verify provenance independently").isNotEqualTo("true");
            abort("Skipped: /usr/bin/openssl is not installed, so provenance is not verified independently");
        }
        JsonNode parsed = Json.mapper().readTree(envelope);
        JsonNode signature = parsed.get("signatures").get(0);
        ECKey key = (ECKey) JWKSet.parse(publishedKeys()).getKeyByKeyId(signature.get("keyid").asString());
        Path directory = Files.createTempDirectory("provenance");
        Path publicKey = Files.writeString(directory.resolve("key.pem"), "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.toECPublicKey().getEncoded())
                + "\n-----END PUBLIC KEY-----\n");
        Path sig = Files.write(directory.resolve("sig.der"), Base64.getDecoder().decode(signature.get("sig").asString()));
        byte[] payload = Base64.getDecoder().decode(parsed.get("payload").asString());
        Path pae = Files.write(directory.resolve("pae.bin"), AnswerProvenance.pae(parsed.get("payloadType").asString(), payload));

        assertThat(openssl(publicKey, sig, pae)).contains("Verified OK");

        byte[] changed = Files.readAllBytes(pae);
        changed[changed.length - 10] ^= 1;
        Files.write(pae, changed);
        assertThat(openssl(publicKey, sig, pae)).contains("Verification failure");
    }

    @Test
    void theVerifyCommandExitsOneNamingTheMismatch() throws Exception {
        Path directory = Files.createTempDirectory("provenance-cli");
        Path jwks = Files.writeString(directory.resolve("jwks.json"), publishedKeys());
        Path good = Files.writeString(directory.resolve("good.json"), envelope);
        byte[] changed = envelope.getBytes(StandardCharsets.UTF_8);
        int at = envelope.indexOf("\"sig\":\"") + 20;
        changed[at] = (byte) (changed[at] == 'A' ? 'B' : 'A');
        Path bad = Files.write(directory.resolve("bad.json"), changed);
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cli = new picocli.CommandLine(new ProvenanceCommands()).setOut(new java.io.PrintWriter(out)).setErr(new java.io.PrintWriter(err));

        assertThat(cli.execute("verify", good.toString(), "--jwks", jwks.toString())).isZero();
        assertThat(out.toString()).contains("verified: run " + run.get("id").asString());
        assertThat(cli.execute("verify", bad.toString(), "--jwks", jwks.toString())).isEqualTo(1);
        assertThat(err.toString()).contains("mismatch: ");
    }

    private static String openssl(Path key, Path signature, Path data) throws IOException, InterruptedException {
        Process process = new ProcessBuilder("openssl", "dgst", "-sha256", "-verify", key.toString(), "-signature", signature.toString(),
                data.toString()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor();
        return output;
    }

    @Test
    void aRotatedKeyStaysPublishedSoOldProvenanceStillVerifies() {
        String firstKey = Json.mapper().readTree(envelope).get("signatures").get(0).get("keyid").asString();
        assertThat(soma.count("SELECT count(*) FROM agent_provenance_keys WHERE kid = '%s' AND retired_at IS NULL".formatted(firstKey))).isEqualTo(1);

        soma.agents.rotateProvenanceKey();
        soma.openAi.enqueue(new FixtureReply.ToolUse("transform", "{\"text\":\"ten\"}", 20, 8), new FixtureReply.Text("At ten", 30, 4));
        JsonNode later = soma.run(acme.apiKey(), "acme-cited", "{\"input\": \"And on Sundays?\"}").json();
        String laterEnvelope = soma.gateway.send("GET", "/v1/runs/%s/provenance".formatted(later.get("id").asString()), acme.apiKey(), null)
                .raw().body();

        String laterKey = Json.mapper().readTree(laterEnvelope).get("signatures").get(0).get("keyid").asString();
        assertThat(laterKey).isNotEqualTo(firstKey);
        String jwks = publishedKeys();
        assertThat(AnswerProvenance.verify(envelope.getBytes(StandardCharsets.UTF_8), jwks).valid()).isTrue();
        assertThat(AnswerProvenance.verify(laterEnvelope.getBytes(StandardCharsets.UTF_8), jwks).valid()).isTrue();
        // Session keys are not provenance keys: the sessions' JWKS does not vouch for answers.
        assertThat(Json.text(soma.sessions.jwks())).doesNotContain(firstKey);
    }

    /** {@code GET /v1/provenance/jwks.json}, without credentials, as a verifier fetches it. */
    private static String publishedKeys() {
        var published = soma.gateway.send("GET", "/v1/provenance/jwks.json", null, null);
        assertThat(published.status()).as(published.raw().body()).isEqualTo(200);
        assertThat(published.raw().body()).doesNotContain("\"d\"");
        return published.raw().body();
    }

    @Test
    void aRunWithoutAnAnswerHasNoProvenance() {
        soma.openAi.enqueue(new FixtureReply.Failure(400));
        JsonNode failed = soma.run(acme.apiKey(), "acme-cited", "{\"input\": \"fail please\"}").json();
        assertThat(failed.get("status").asString()).isEqualTo("failed");

        assertThat(soma.gateway.send("GET", "/v1/runs/%s/provenance".formatted(failed.get("id").asString()), acme.apiKey(), null).status())
                .isEqualTo(404);
    }
}
