package io.somastack.agents;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code somastack provenance verify FILE [--jwks URL|FILE]}: checks a run's provenance envelope
 * offline against the server's published keys. Exit 0 when it verifies; 1 naming every
 * mismatch; 2 when the file or keys cannot be read.
 */
@Command(name = "provenance", description = "Signed provenance of agents' answers.", mixinStandardHelpOptions = true,
        subcommands = {ProvenanceCommands.Verify.class})
public final class ProvenanceCommands implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "verify", description = {"Verify a run's provenance (GET /v1/runs/{id}/provenance, saved to FILE) against the server's "
            + "JWKS; exit 1 naming each mismatch."})
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "FILE", description = "The DSSE envelope")
        Path file;

        @Option(names = "--jwks", paramLabel = "URL|FILE", defaultValue = "http://127.0.0.1:8080/v1/provenance/jwks.json",
                description = "The server's keys: a URL or a file (default: ${DEFAULT-VALUE})")
        String jwks;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            byte[] envelope;
            String keys;
            try {
                envelope = Files.readAllBytes(file);
                keys = jwks.startsWith("http://") || jwks.startsWith("https://") ? fetch(jwks) : Files.readString(Path.of(jwks));
            } catch (IOException | InterruptedException e) {
                err.println("somastack: cannot read %s: %s".formatted(e.getMessage(), e.getClass().getSimpleName()));
                return 2;
            }
            AnswerProvenance.Verification verification = AnswerProvenance.verify(envelope, keys);
            if (!verification.valid()) {
                verification.problems().forEach(problem -> err.println("mismatch: " + problem));
                return 1;
            }
            var predicate = verification.statement().orElseThrow().path("predicate");
            out.println("verified: run %s of %s@%s, answer sha256 %s".formatted(predicate.path("run_id").asString(),
                    predicate.path("capsule").path("name").asString(), predicate.path("capsule").path("version").asString(),
                    predicate.path("answer_sha256").asString()));
            return 0;
        }

        private static String fetch(String url) throws IOException, InterruptedException {
            try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200) {
                    throw new IOException("%s answered %d".formatted(url, response.statusCode()));
                }
                return response.body();
            }
        }
    }
}
