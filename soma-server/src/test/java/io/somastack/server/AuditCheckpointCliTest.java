package io.somastack.server;

import static io.somastack.server.TestServer.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Issue 8, defect 13: the operator keeps a signed checkpoint, someone deletes the audit log's
 * tail and rewinds {@code audit_head}; plain {@code audit verify} cannot see it,
 * {@code audit verify --checkpoint} does. The real command line against the real server.
 */
class AuditCheckpointCliTest {
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
    void aTruncatedTailIsFoundWithAKeptCheckpointAndAForgedCheckpointIsRefused() throws Exception {
        try (TestServer soma = TestServer.start("audit:\n  checkpoint:\n    interval: 200ms\n")) {
            String url = soma.base;
            String admin = TestServer.ADMIN_KEY;
            for (int i = 0; i < 3; i++) {
                soma.tenant("audited-" + i, "");
            }
            Jdbi jdbi = Jdbi.create(soma.databaseUrl, "postgres", "");
            long entries = jdbi.withHandle(handle -> handle.createQuery("SELECT seq FROM audit_head").mapTo(Long.class).one());
            assertThat(entries).isGreaterThanOrEqualTo(3);

            // The server signs on its own when the log grew, and each checkpoint reaches the outbox.
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            TestServer.Response latest = soma.get("/v1/admin/audit/checkpoints/latest", admin);
            while ((latest.status() != 200 || latest.json().get("size").asLong() < entries) && System.nanoTime() < deadline) {
                Thread.sleep(50);
                latest = soma.get("/v1/admin/audit/checkpoints/latest", admin);
            }
            assertThat(latest.status()).as(latest.body()).isEqualTo(200);
            assertThat(latest.json().get("size").asLong()).isEqualTo(entries);
            long events = jdbi.withHandle(handle -> handle.createQuery(
                    "SELECT count(*) FROM outbox WHERE type = 'io.somastack.audit.checkpoint'").mapTo(Long.class).one());
            assertThat(events).isPositive();

            // The operator signs one on demand and keeps it.
            Path kept = dir.resolve("checkpoint.json");
            Run signed = cli("audit", "checkpoint", "-o", kept.toString(), "--url", url, "--admin-key", admin);
            assertThat(signed.code()).as(signed.err()).isZero();
            JsonNode checkpoint = Json.mapper().readTree(Files.readString(kept));
            assertThat(checkpoint.get("size").asLong()).isEqualTo(entries);
            assertThat(checkpoint.get("public_key").get("crv").asString()).isEqualTo("P-256");
            assertThat(soma.post("/v1/admin/audit/checkpoints", admin, null).status()).isEqualTo(201);

            Run intact = cli("audit", "verify", "--checkpoint", kept.toString(), "--url", url, "--admin-key", admin);
            assertThat(intact.code()).as(intact.out() + intact.err()).isZero();
            assertThat(intact.out()).contains("\"intact\" : true");

            // The attack: the last entry is deleted and audit_head rewound to the one before.
            jdbi.useHandle(handle -> {
                handle.execute("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)");
                handle.execute("UPDATE audit_head SET seq = (SELECT max(seq) FROM audit_log), "
                        + "hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1) WHERE id = 1");
            });

            Run plain = cli("audit", "verify", "--url", url, "--admin-key", admin);
            assertThat(plain.code()).as("the chain alone cannot see a cut tail").isZero();

            Run found = cli("audit", "verify", "--checkpoint", kept.toString(), "--url", url, "--admin-key", admin);
            assertThat(found.code()).isEqualTo(1);
            assertThat(found.out()).contains("\"intact\" : false").contains("\"first_bad_entry\" : " + entries)
                    .contains("entry %d was deleted and audit_head rewound".formatted(entries));

            // A checkpoint changed after signing is refused, not verified.
            Map<String, Object> forged = new LinkedHashMap<>(Json.mapper().readValue(Files.readString(kept), Map.class));
            forged.put("size", entries - 1);
            Path forgedFile = dir.resolve("forged.json");
            Files.writeString(forgedFile, Json.text(forged));
            Run refused = cli("audit", "verify", "--checkpoint", forgedFile.toString(), "--url", url, "--admin-key", admin);
            assertThat(refused.code()).isNotZero();
            assertThat(refused.err()).contains("signature-refused").contains("does not verify");
            assertProblem(soma.post("/v1/admin/audit/verify", admin, Json.text(forged)), 400, "signature-refused");
            assertProblem(soma.post("/v1/admin/audit/verify", null, Files.readString(kept)), 401, "missing-credentials");
        }
    }
}
