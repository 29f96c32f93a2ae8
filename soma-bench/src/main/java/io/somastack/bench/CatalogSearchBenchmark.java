package io.somastack.bench;

import io.somastack.kernel.Json;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import io.somastack.policy.TestCapsules;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Catalog search with N published capsules (default 10,000), end to end over HTTP, side by side
 * with the direct path: the same full-text query sent straight to PostgreSQL over JDBC.
 * Capsules are published through {@code POST /v1/capsules/publish} (signed zip, the whole lint),
 * their descriptions real text (apt package descriptions). Queries: one or two words drawn from
 * other descriptions, one at a time (closed loop), k = 20. Usage:
 * {@code java ... io.somastack.bench.CatalogSearchBenchmark [capsules] [queries]}.
 */
public final class CatalogSearchBenchmark {
    private static final List<String> TAGS = List.of("search", "finance", "weather", "support", "code", "legal", "travel", "health",
            "sales", "hr", "security", "data", "docs", "email", "chat", "ops", "retail", "media", "science", "education");
    private static final List<String> LICENSES = List.of("MIT", "Apache-2.0", "BSD-3-Clause", "ISC");
    private static final String DIRECT_SQL = """
            SELECT c.*, ts_rank(c.search, q) AS relevance FROM capsules c, websearch_to_tsquery('english', ?) q
            WHERE c.latest_version IS NOT NULL AND c.search @@ q ORDER BY relevance DESC, c.name LIMIT 20 OFFSET 0""";

    private CatalogSearchBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int capsules = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 10_000;
        int queries = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 500;
        List<String> texts = AptDescriptions.load();
        if (texts.size() < capsules + queries) {
            throw new IllegalStateException("only %d descriptions for %d capsules and %d queries".formatted(texts.size(), capsules, queries));
        }
        String sbom = TestCapsules.sbom("is-number.cdx.json");
        SigningKeys keys = Signatures.generate();
        try (SomaStackInstance soma = SomaStackInstance.start(URI.create("http://127.0.0.1:9/v1"))) {
            soma.post("/v1/policy/trusted-keys", Map.of("name", "bench publisher", "role", "publisher", "public_key_pem", keys.publicKeyPem()));
            long started = System.nanoTime();
            AtomicInteger done = new AtomicInteger();
            try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
                List<Future<?>> futures = new ArrayList<>();
                for (int worker = 0; worker < 2; worker++) {
                    int first = worker;
                    futures.add(pool.submit(() -> {
                        for (int i = first; i < capsules; i += 2) {
                            byte[] bundle = bundle(i, texts.get(i), sbom);
                            HttpResponse<String> published = soma.send("POST", "/v1/capsules/publish", "application/zip", bundle,
                                    "Capsule-Signature", Signatures.sign(keys.privateKeyPem(), bundle) + "; key-id=" + keys.keyId());
                            if (published.statusCode() != 201) {
                                throw new IllegalStateException("publish %d answered %d: %s".formatted(i, published.statusCode(), published.body()));
                            }
                            int count = done.incrementAndGet();
                            if (count % 1000 == 0) {
                                System.out.printf("published %,d of %,d (%.0f/s)%n", count, capsules, count / ((System.nanoTime() - started) / 1e9));
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> future : futures) {
                    future.get();
                }
            }
            double publishRate = capsules / ((System.nanoTime() - started) / 1e9);
            List<String> held = queries(texts.subList(capsules, capsules + queries), new Random(11));
            String port = Files.readAllLines(soma.postgresDirectory().resolve("postmaster.pid")).get(3).strip();
            try (Connection connection = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
                 PreparedStatement direct = connection.prepareStatement(DIRECT_SQL)) {
                // Let the write burst settle as autovacuum would in a running system: statistics and visibility map, then quiet.
                try (var statement = connection.createStatement()) {
                    statement.execute("VACUUM ANALYZE capsules");
                    statement.execute("CHECKPOINT");
                }
                Thread.sleep(20_000);
                long[] hits = new long[1];
                Runnable warm = () -> {
                    for (String query : held.subList(0, Math.min(100, held.size()))) {
                        search(soma, query);
                        direct(direct, query);
                    }
                };
                warm.run();
                long[] http = new long[held.size()];
                long[] sql = new long[held.size()];
                for (int i = 0; i < held.size(); i++) {
                    String query = held.get(i);
                    // Alternate the order so neither path always runs on a warmer cache.
                    if (i % 2 == 0) {
                        http[i] = timed(() -> hits[0] += search(soma, query));
                        sql[i] = timed(() -> direct(direct, query));
                    } else {
                        sql[i] = timed(() -> direct(direct, query));
                        http[i] = timed(() -> hits[0] += search(soma, query));
                    }
                }
                Arrays.sort(http);
                Arrays.sort(sql);
                String table = """
                        ## Catalog search with %,d capsules (%d queries, k = 20, after %d warm-up queries)

                        Published through the API at %.0f capsules/s (2 clients, signed zip, the whole lint), then VACUUM ANALYZE,
                        CHECKPOINT and 20 s of quiet. Queries: one or two words from held-out package descriptions; %.1f hits
                        returned on average. Each HTTP search also appends its audit entry (group commit), as every
                        authenticated request does.

                        | path | p50 | p95 | p99 | target |
                        |---|---:|---:|---:|---:|
                        | SomaStack `GET /v1/capsules?q=` over HTTP | %s | %s | %s | p95 <= 10 ms |
                        | direct: the same SQL over JDBC | %s | %s | %s | |
                        """.formatted(capsules, held.size(), Math.min(100, held.size()), publishRate, hits[0] / (double) held.size(),
                        ms(http, 0.5), ms(http, 0.95), ms(http, 0.99), ms(sql, 0.5), ms(sql, 0.95), ms(sql, 0.99));
                System.out.println(table);
                Path output = Path.of("soma-bench/target/catalog-search.md");
                Files.createDirectories(output.getParent());
                Files.writeString(output, table);
            }
        }
    }

    private static int search(SomaStackInstance soma, String query) {
        HttpResponse<String> response = soma.send("GET", "/v1/capsules?limit=20&q=" + URLEncoder.encode(query, StandardCharsets.UTF_8), null, null);
        if (response.statusCode() != 200) {
            throw new IllegalStateException("search answered %d: %s".formatted(response.statusCode(), response.body()));
        }
        return Json.mapper().readTree(response.body()).get("data").size();
    }

    private static void direct(PreparedStatement statement, String query) {
        try {
            statement.setString(1, query);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    rs.getString("name");
                }
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long timed(Runnable work) {
        long start = System.nanoTime();
        work.run();
        return System.nanoTime() - start;
    }

    private static String ms(long[] sorted, double percentile) {
        return "%.2f ms".formatted(sorted[(int) Math.min(sorted.length - 1, sorted.length * percentile)] / 1e6);
    }

    /** One or two words of five letters or more from each text. */
    static List<String> queries(List<String> texts, Random random) {
        List<String> queries = new ArrayList<>();
        for (String text : texts) {
            List<String> words = Arrays.stream(text.toLowerCase(Locale.ROOT).split("[^a-z]+")).filter(word -> word.length() >= 5).toList();
            if (words.isEmpty()) {
                continue;
            }
            String first = words.get(random.nextInt(words.size()));
            queries.add(random.nextBoolean() || words.size() < 2 ? first : first + " " + words.get(random.nextInt(words.size())));
        }
        return queries;
    }

    static byte[] bundle(int index, String description, String sbom) {
        Random random = new Random(index);
        String first = TAGS.get(random.nextInt(TAGS.size()));
        String second = TAGS.get((random.nextInt(TAGS.size() - 1) + 1 + index) % TAGS.size());
        String manifest = TestCapsules.listing("capsule-%05d".formatted(index), "1.0.0", "bench",
                description.length() > 1900 ? description.substring(0, 1900) : description,
                first.equals(second) ? List.of(first) : List.of(first, second), LICENSES.get(index % LICENSES.size()),
                index % 3 == 0 ? null : "sku-" + (index % 7));
        return TestCapsules.zip(Map.of("capsule.yaml", manifest.getBytes(StandardCharsets.UTF_8), "sbom.cdx.json", sbom.getBytes(StandardCharsets.UTF_8)));
    }
}
