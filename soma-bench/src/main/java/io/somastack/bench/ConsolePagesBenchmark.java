package io.somastack.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The console's pages with N ledger rows (default 1,000,000) for one tenant this month, over
 * HTTP with a signed-in session, side by side with the anchor: {@code GET /v1/usage}, which
 * sums the ledger rows themselves. The rows are inserted straight into {@code usage_ledger}
 * (the rollup triggers run for each, as for a call) in transactions of 2,000 rows, spread over
 * this month's hours, 8 models and 4 keys. Each path is requested one at a time (closed loop); the time is the client's,
 * on the same machine. Usage: {@code java ... io.somastack.bench.ConsolePagesBenchmark [rows] [requests]}.
 */
public final class ConsolePagesBenchmark {
    private static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"");
    private static final Pattern COOKIE = Pattern.compile("soma_console(?:_sign_in)?=([^;]*)");
    /** Ledger rows per insert transaction. */
    private static final int BATCH = 2_000;

    private ConsolePagesBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int rows = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 1_000_000;
        int requests = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 300;
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        try (SomaStackInstance soma = SomaStackInstance.start(URI.create("http://127.0.0.1:9/v1"))) {
            String base = "http://127.0.0.1:" + soma.port();
            String port = Files.readAllLines(soma.postgresDirectory().resolve("postmaster.pid")).get(3).strip();
            LocalDate today = LocalDate.now(ZoneOffset.UTC);
            try (Connection connection = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
                 Statement statement = connection.createStatement()) {
                long started = System.nanoTime();
                // The tenant and key of the instance's API key; 3 more key ids for variety.
                var key = statement.executeQuery("SELECT tenant_id, id FROM api_keys ORDER BY created_at LIMIT 1");
                key.next();
                String tenant = key.getString(1);
                String keyId = key.getString(2);
                // In transactions of BATCH rows (autocommit), as calls commit on their own: between transactions PostgreSQL
                // prunes the old versions of the rollup rows each insert's trigger updates. One statement of a million rows
                // would leave each daily rollup row with a thousand versions to walk, which no real workload makes.
                for (int first = 1; first <= rows; first += BATCH) {
                    statement.execute("""
                            INSERT INTO usage_ledger (id, tenant_id, key_id, request_id, model, provider, upstream_model, input_tokens, output_tokens,
                                                      estimated, input_per_million, output_per_million, cost, period, created_at)
                            SELECT gen_random_uuid(), '%1$s', CASE WHEN i %% 4 = 0 THEN '%2$s'::uuid ELSE md5((i %% 4)::text)::uuid END,
                                   'bench-' || i, 'model-' || (i %% 8), 'openai', 'model-' || (i %% 8), 100 + i %% 50, 20 + i %% 30, false,
                                   0.15, 0.60, (100 + i %% 50) * 0.00000015 + (20 + i %% 30) * 0.0000006, date_trunc('month', now()),
                                   date_trunc('month', now()) + (now() - date_trunc('month', now())) * (i::float8 / %3$d)
                            FROM generate_series(%4$d, %5$d) AS i""".formatted(tenant, keyId, rows, first, Math.min(rows, first + BATCH - 1)));
                }
                statement.execute("VACUUM ANALYZE usage_ledger");
                statement.execute("VACUUM ANALYZE usage_rollup_hourly");
                // The daily rollup exists from V3_22 on (so this benchmark also runs against the code before it).
                var daily = statement.executeQuery("SELECT to_regclass('usage_rollup_daily') IS NOT NULL");
                daily.next();
                if (daily.getBoolean(1)) {
                    statement.execute("VACUUM ANALYZE usage_rollup_daily");
                }
                System.out.printf("inserted %,d ledger rows in %.1f s%n", rows, (System.nanoTime() - started) / 1e9);
            }
            String cookie = signIn(http, base, soma.apiKey());
            String period = "from=%s&to=%s".formatted(today.withDayOfMonth(1), today.plusDays(1));
            Map<String, HttpRequest> paths = new LinkedHashMap<>();
            paths.put("GET /console/overview", page(base + "/console/overview", cookie));
            paths.put("GET /console/usage (by model)", page(base + "/console/usage?" + period + "&group_by=model", cookie));
            paths.put("GET /console/usage (by day)", page(base + "/console/usage?" + period + "&group_by=day", cookie));
            paths.put("GET /console/usage.csv (by key)", page(base + "/console/usage.csv?" + period + "&group_by=key", cookie));
            paths.put("anchor: GET /v1/usage (by model, ledger rows)", HttpRequest.newBuilder(URI.create(base + "/v1/usage?" + period + "&group_by=model"))
                    .header("Authorization", "Bearer " + soma.apiKey()).build());
            StringBuilder table = new StringBuilder("""
                    | path (%,d ledger rows) | requests | p50 | p95 | p99 | max |
                    |---|---|---|---|---|---|
                    """.formatted(rows));
            for (var entry : paths.entrySet()) {
                // The anchor scans the ledger rows (seconds each at 1M rows): fewer of its requests, else the run takes an hour.
                int count = entry.getKey().startsWith("anchor") ? Math.max(10, requests / 10) : requests;
                for (int i = 0; i < Math.min(30, count); i++) {
                    send(http, entry.getValue());
                }
                long[] times = new long[count];
                for (int i = 0; i < count; i++) {
                    long start = System.nanoTime();
                    send(http, entry.getValue());
                    times[i] = System.nanoTime() - start;
                }
                Arrays.sort(times);
                String row = "| %s | %d | %s | %s | %s | %s |%n".formatted(entry.getKey(), count, ms(times, 0.50), ms(times, 0.95),
                        ms(times, 0.99), ms(times, 1.0));
                System.out.print(row);
                table.append(row);
            }
            System.out.print(table);
            java.nio.file.Path output = java.nio.file.Path.of("soma-bench/target/console-pages.md");
            Files.createDirectories(output.getParent());
            Files.writeString(output, table);
        }
        System.exit(0);
    }

    private static String signIn(HttpClient http, String base, String apiKey) throws Exception {
        HttpResponse<String> form = http.send(HttpRequest.newBuilder(URI.create(base + "/console/sign-in")).build(), HttpResponse.BodyHandlers.ofString());
        Matcher csrf = CSRF.matcher(form.body());
        Matcher cookie = COOKIE.matcher(form.headers().firstValue("Set-Cookie").orElseThrow());
        if (!csrf.find() || !cookie.find()) {
            throw new IllegalStateException("no sign-in form");
        }
        HttpResponse<String> signedIn = http.send(HttpRequest.newBuilder(URI.create(base + "/console/sign-in"))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Cookie", "soma_console_sign_in=" + cookie.group(1))
                .POST(HttpRequest.BodyPublishers.ofString("csrf=" + csrf.group(1) + "&key=" + apiKey)).build(), HttpResponse.BodyHandlers.ofString());
        for (String header : signedIn.headers().allValues("Set-Cookie")) {
            if (header.startsWith("soma_console=")) {
                return "soma_console=" + header.substring("soma_console=".length(), header.indexOf(';'));
            }
        }
        throw new IllegalStateException("sign-in answered %d without a session".formatted(signedIn.statusCode()));
    }

    private static HttpRequest page(String url, String cookie) {
        return HttpRequest.newBuilder(URI.create(url)).header("Cookie", cookie).build();
    }

    private static void send(HttpClient http, HttpRequest request) throws Exception {
        HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("%s answered %d".formatted(request.uri(), response.statusCode()));
        }
    }

    private static String ms(long[] sorted, double percentile) {
        return "%.2f ms".formatted(sorted[(int) Math.min(sorted.length - 1, sorted.length * percentile)] / 1e6);
    }
}
