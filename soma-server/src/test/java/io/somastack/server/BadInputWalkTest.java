package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;
import tools.jackson.databind.JsonNode;

/**
 * Walks the OpenAPI document and sends every operation the bad inputs of {@link BadInputs}
 * (malformed JSON, null, wrong types for every field, missing and unknown fields, NUL, lone
 * surrogates, extreme numbers and dates, oversized bodies with Content-Length and chunked, bad
 * percent-escapes, a huge request line and header). Every answer must be below 500, every
 * refusal a documented {@code application/problem+json} problem without SQL or stack text,
 * an input the document refuses must be refused, and a refused request must change nothing in
 * the database. All failures are reported at once, grouped by operation.
 */
class BadInputWalkTest {
    private static final OpenApiDocument DOCUMENT = new OpenApiDocument(OpenApiRoutes.document());
    /** Written by every request (audit) or by timers, whatever the answer. */
    private static final Set<String> MOVING_TABLES = Set.of("audit_log", "audit_head", "audit_checkpoints", "audit_checkpoint_key", "outbox",
            "memory_storage_meter", "flyway_schema_history");
    private static final Pattern LEAKS = Pattern.compile("(?i)(\\bselect\\b[^\"]{0,200}\\bfrom\\b|\\binsert\\s+into\\b|\\bupdate\\s+\\w+\\s+set\\b"
            + "|\\bdelete\\s+from\\b|sqlstate|psqlexception|org\\.postgresql|jdbi|hikari|\\bat\\s+(?:java|javax|jdk|io|org|com|tools|kotlin)\\.[\\w.$]+\\("
            + "|\\b[\\w.]+(?:exception|error):\\s|\\bcaused by\\b)");
    private static TestServer soma;

    @BeforeAll
    static void start() {
        // No purge or metering timer may change the database while the walk watches it.
        soma = TestServer.start("""
                memory:
                  purge:
                    interval: 1h
                marketplace:
                  ranking:
                    refresh: 24h
                """);
    }

    @AfterAll
    static void stop() {
        if (soma != null) {
            soma.close();
        }
    }

    @Test
    void noBadInputBreaksAnyOperation() throws SQLException {
        long started = System.nanoTime();
        ApiFixture fixture = new ApiFixture(new ContractClient(soma, DOCUMENT), DOCUMENT);
        Walk walk;
        try (Connection database = connect(); Statement statement = database.createStatement();
                PreparedStatement fingerprint = database.prepareStatement(stateQuery(statement))) {
            walk = new Walk(new RawHttp(soma.server.port()), statement, fingerprint);
            for (OpenApiDocument.Operation operation : DOCUMENT.operations()) {
                walk.operation(operation, fixture.path(operation), fixture.token(operation), fixture.body(operation));
            }
        }
        long seconds = (System.nanoTime() - started) / 1_000_000_000;
        System.out.printf("The bad-input walk sent %d requests to %d operations in %d s; answers by status: %s; "
                        + "%d ms in requests, %d ms in %d fingerprints of the tables, %d ms in %d waits for them to stand still, "
                        + "%d runs of refusals sent again%n", walk.requests, walk.timings.size(), seconds, walk.statuses, walk.sendNanos / 1_000_000,
                walk.stateNanos / 1_000_000, walk.states, walk.settleNanos / 1_000_000, walk.settles, walk.rereads);
        walk.timings.forEach((operation, timing) -> System.out.printf("  %s: %s%n", operation, timing));
        assertThat(walk.failures).as(() -> report(walk.failures, walk.requests, seconds)).isEmpty();
    }

    /** The walk's state: what it found, and the database fingerprint that a refused request must leave as it was. */
    private static final class Walk {
        final Map<String, List<String>> failures = new LinkedHashMap<>();
        final Map<String, String> timings = new LinkedHashMap<>();
        final Map<Integer, Integer> statuses = new TreeMap<>();
        int requests;
        long sendNanos;
        long stateNanos;
        int states;
        int settles;
        long settleNanos;
        /** Runs of refusals after which the tables had changed, so that each was sent again. */
        int rereads;
        private final RawHttp http;
        private final Statement statement;
        /** Prepared, so PostgreSQL plans its hundred-odd scans once, not on every reading. */
        private final PreparedStatement fingerprint;
        private Map<String, String> state;

        Walk(RawHttp http, Statement statement, PreparedStatement fingerprint) throws SQLException {
            this.http = http;
            this.statement = statement;
            this.fingerprint = fingerprint;
            this.state = state();
        }

        /**
         * The tables' state once no job is on its way to a node that waits or to its end, and two
         * readings 10 ms apart agree (at most 60 s; the last reading otherwise). Work that writes
         * later than that costs no false failure: a refusal that then finds the tables changed is
         * sent again once they stand still, and only a change that repeats is reported.
         */
        private Map<String, String> settled() throws SQLException {
            settles++;
            long started = System.nanoTime();
            try {
                return standingStill();
            } finally {
                settleNanos += System.nanoTime() - started;
            }
        }

        private Map<String, String> standingStill() throws SQLException {
            Map<String, String> previous = state();
            for (int attempt = 0; attempt < 6000; attempt++) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                Map<String, String> current = state();
                if (current.equals(previous) && busyJobs() == 0) {
                    return current;
                }
                previous = current;
            }
            return previous;
        }

        private Map<String, String> state() throws SQLException {
            long started = System.nanoTime();
            try {
                return BadInputWalkTest.state(fingerprint);
            } finally {
                states++;
                stateNanos += System.nanoTime() - started;
            }
        }

        private long busyJobs() throws SQLException {
            try (ResultSet rows = statement.executeQuery("""
                    SELECT count(*) FROM workflow_jobs j WHERE j.status = 'running'
                    AND NOT EXISTS (SELECT 1 FROM workflow_nodes n WHERE n.job_id = j.id AND n.status = 'waiting')""")) {
                rows.next();
                return rows.getLong(1);
            }
        }

        void operation(OpenApiDocument.Operation operation, String path, String token, Optional<JsonNode> body) throws SQLException {
            long started = System.nanoTime();
            if (body.isPresent()) {
                // The valid request first: were it refused as bad input, the refusals below would prove nothing.
                RawHttp.Response valid = send(BadInputs.valid(DOCUMENT, operation, path, token, body));
                if (valid.status() == 400 || valid.status() >= 500) {
                    fail(operation, "the valid request (the document's example) was answered %d %s".formatted(valid.status(), summary(valid)));
                }
            }
            // Work an accepted request started goes on after its answer (a job's nodes run, a cancel bills
            // what was used): the refusals below are watched only once the tables stand still.
            state = settled();
            List<BadInputs.Input> inputs = BadInputs.of(DOCUMENT, operation, path, token, body);
            // Refusals are read in runs: the tables are fingerprinted once before an input that may be
            // accepted and once after the run, and only a run that changed them is looked at input by input.
            List<BadInputs.Input> unread = new ArrayList<>();
            for (BadInputs.Input input : inputs) {
                if (input.expect() != BadInputs.Expect.REFUSE) {
                    read(operation, unread);
                }
                requests++;
                List<String> problems = new ArrayList<>();
                int status = check(operation, input, problems);
                statuses.merge(status, 1, Integer::sum);
                if (status >= 400 && status < 500) {
                    unread.add(input);
                } else {
                    read(operation, unread);
                    // An accepted input may start work that goes on after its answer, as the valid request may.
                    state = status < 300 ? settled() : state();
                }
                if (!problems.isEmpty()) {
                    fail(operation, "%s: %s".formatted(input.label(), String.join("; ", problems)));
                }
            }
            read(operation, unread);
            timings.put(operation.toString(), "%d inputs in %d ms".formatted(inputs.size(), (System.nanoTime() - started) / 1_000_000));
        }

        /**
         * Reads the tables after a run of refused inputs. When they changed, work started earlier
         * may have written meanwhile (a job whose approval ran out, a node that ended), so each input
         * of the run is sent again once the tables stand still, and only a change that repeats is
         * reported as that refusal's.
         */
        private void read(OpenApiDocument.Operation operation, List<BadInputs.Input> unread) throws SQLException {
            if (unread.isEmpty()) {
                return;
            }
            Map<String, String> after = state();
            if (!after.equals(state)) {
                rereads++;
                for (BadInputs.Input input : unread) {
                    Map<String, String> before = settled();
                    int again = check(operation, input, new ArrayList<>());
                    after = state();
                    if (again >= 400 && again < 500 && !after.equals(before)) {
                        fail(operation, "%s: a refused request (%d) changed tables %s".formatted(input.label(), again, changed(before, after)));
                    }
                }
            }
            state = after;
            unread.clear();
        }

        private RawHttp.Response send(BadInputs.Input input) {
            long started = System.nanoTime();
            try {
                return http.send(input.method(), input.target(), input.headers(), input.body(), input.framing());
            } finally {
                sendNanos += System.nanoTime() - started;
            }
        }

        /** Sends one input and checks the answer; returns the status (0 when there was none). */
        private int check(OpenApiDocument.Operation operation, BadInputs.Input input, List<String> problems) {
            RawHttp.Response response;
            try {
                response = send(input);
            } catch (UncheckedIOException e) {
                problems.add("no answer (" + e.getCause().getMessage() + ")");
                return 0;
            }
            BadInputWalkTest.check(operation, input, response, problems);
            return response.status();
        }

        private void fail(OpenApiDocument.Operation operation, String line) {
            failures.computeIfAbsent(operation.toString(), key -> new ArrayList<>()).add(line);
        }
    }

    /** What is wrong with the answer to one input. */
    private static void check(OpenApiDocument.Operation operation, BadInputs.Input input, RawHttp.Response response, List<String> problems) {
        int status = response.status();
        String contentType = response.header("Content-Type");
        String summary = summary(response);
        if (status >= 500) {
            problems.add("%d %s".formatted(status, summary));
        } else if (input.expect() == BadInputs.Expect.REFUSE && (status < 400 || input.status() != null && input.status() != status)) {
            problems.add("expected %s, got %d %s%s".formatted(input.status() == null ? "a 4xx refusal" : input.status(), status, summary,
                    input.why() == null ? "" : " (the document refuses it: " + input.why() + ")"));
        }
        if (status >= 400) {
            boolean problem = contentType != null && contentType.startsWith("application/problem+json");
            if (!problem) {
                problems.add("a %d answer as %s, not application/problem+json".formatted(status, contentType));
            } else {
                DOCUMENT.responseErrors(operation, status, contentType, response.body()).forEach(error -> problems.add("undocumented problem: " + error));
            }
            Matcher leak = LEAKS.matcher(response.body());
            if (leak.find()) {
                problems.add("SQL or stack text in the body: '%s'".formatted(excerpt(response.body(), leak.start())));
            }
        } else if (status >= 200 && status < 300) {
            DOCUMENT.responseErrors(operation, status, contentType, response.body())
                    .forEach(error -> problems.add("the %d answer does not match the document: %s".formatted(status, error)));
        }
    }

    private static String summary(RawHttp.Response response) {
        String contentType = response.header("Content-Type");
        if (contentType != null && contentType.contains("json")) {
            try {
                JsonNode body = Json.mapper().readTree(response.body());
                if (body.has("type")) {
                    String type = body.get("type").asString();
                    return "%s \"%s\"".formatted(type.substring(type.lastIndexOf('/') + 1), shorten(body.path("detail").asString("")));
                }
            } catch (RuntimeException e) {
                // not JSON after all: shown as text below
            }
        }
        return "%s \"%s\"".formatted(contentType, shorten(response.body()));
    }

    private static String shorten(String text) {
        String line = text.replaceAll("\\s+", " ").strip();
        return line.length() > 110 ? line.substring(0, 110) + "..." : line;
    }

    private static String excerpt(String body, int at) {
        return shorten(body.substring(Math.max(0, at - 20), Math.min(body.length(), at + 80)));
    }

    private static String report(Map<String, List<String>> failures, int sent, long seconds) {
        StringBuilder report = new StringBuilder("%nThe bad-input walk found %d failures in %d of %d operations (%d requests, %d s):%n"
                .formatted(failures.values().stream().mapToInt(List::size).sum(), failures.size(), DOCUMENT.operations().size(), sent, seconds));
        failures.forEach((operation, lines) -> {
            report.append("%n%s: %d%n".formatted(operation, lines.size()));
            lines.forEach(line -> report.append("  - ").append(line).append(System.lineSeparator()));
        });
        return report.toString();
    }

    private static Connection connect() throws SQLException {
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setURL(soma.databaseUrl);
        dataSource.setUser("postgres");
        return dataSource.getConnection();
    }

    /** One query that fingerprints every table but the moving ones: its row count and the sum of its row versions. */
    private static String stateQuery(Statement statement) throws SQLException {
        List<String> parts = new ArrayList<>();
        try (ResultSet tables = statement.executeQuery("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                + "AND table_type = 'BASE TABLE' ORDER BY table_name")) {
            while (tables.next()) {
                String table = tables.getString(1);
                if (!MOVING_TABLES.contains(table)) {
                    // Every insert or update writes a row version with a new xmin; a delete changes the count.
                    parts.add("SELECT '%1$s', count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM \"%1$s\"".formatted(table));
                }
            }
        }
        return String.join(" UNION ALL ", parts);
    }

    private static Map<String, String> state(PreparedStatement fingerprint) throws SQLException {
        Map<String, String> state = new TreeMap<>();
        try (ResultSet rows = fingerprint.executeQuery()) {
            while (rows.next()) {
                state.put(rows.getString(1), rows.getString(2));
            }
        }
        return state;
    }

    private static List<String> changed(Map<String, String> before, Map<String, String> after) {
        return after.keySet().stream().filter(table -> !after.get(table).equals(before.get(table)))
                .map(table -> "%s (rows %s -> %s)".formatted(table, before.get(table).split(":")[0], after.get(table).split(":")[0])).toList();
    }
}
