package io.somastack.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bad input to the memory routes is a 400 problem naming the field or limit, never a 500, never
 * SQL in the detail, and it stores nothing: empty and {@code null} bodies, wrong types, NUL and
 * lone surrogates, text the embedder reads as empty, instants it cannot represent, and queries
 * of more words than Lucene takes clauses (those are answered, on their first words).
 */
class BadInputTest {
    private static final String MEMORY = """
            {"text": %s, "scope": {"kind": "user", "id": "ada"}, "provenance": {"kind": "user"}}""";
    private static final String RECALL = """
            {"query": %s, "scopes": [{"kind": "user", "id": "ada"}]}""";

    private static TestMemory soma;
    private static TestGateway gateway;
    private static String key;

    @BeforeAll
    static void start() {
        soma = TestMemory.start();
        gateway = new TestGateway(soma.database, soma.commit, soma.clock, soma.ids, soma.meters, soma.memory::routes);
        key = gateway.tenantKey("acme", "memory:read", "memory:write");
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (soma != null) {
            soma.close();
        }
    }

    /** Rows of every memory table a refused request could have written. */
    private static long stored() {
        return soma.count("""
                SELECT (SELECT count(*) FROM memories) + (SELECT count(*) FROM memory_revisions) + (SELECT count(*) FROM memory_changes)
                     + (SELECT count(*) FROM recalls) + (SELECT count(*) FROM memories WHERE deleted_at IS NOT NULL)""");
    }

    /** Sends a request that must be refused as bad input, with a detail naming {@code named}, having stored nothing. */
    private static TestGateway.Response assertRefused(String method, String path, String body, String... named) {
        long before = stored();
        TestGateway.Response response = gateway.send(method, path, key, body);
        assertThat(response.status()).as(response.raw().body()).isEqualTo(400);
        assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        assertThat(response.json().get("type").asString()).startsWith("https://somastack.io/problems/");
        String detail = response.json().get("detail").asString();
        assertThat(detail).contains(named);
        assertThat(detail).doesNotContain("INSERT", "SELECT", "UPDATE", "SQL", "Exception", "overflow");
        assertThat(stored()).as("rows stored by a refused request").isEqualTo(before);
        return response;
    }

    private static String json(String text) {
        return "\"" + text + "\"";
    }

    @Test
    void anEmptyOrNullBodyIsRefusedOnEveryMemoryRoute() {
        for (String path : List.of("/v1/memories", "/v1/memories/recall", "/v1/memories/forget")) {
            assertRefused("POST", path, "", "body is empty");
            assertRefused("POST", path, "  \n", "body is empty");
            assertRefused("POST", path, "null", "null");
            assertRefused("POST", path, "[]", "JSON object");
            assertRefused("POST", path, "7", "JSON object");
        }
        assertRefused("POST", "/v1/memories", "{\"memories\": [null]}", "Entry 0", "JSON object");
        assertRefused("POST", "/v1/memories", MEMORY.formatted("\"fine\"").replace("\"scope\"", "\"tags\": [null], \"scope\""), "tags[0]");
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted("\"tea\"").replace("}]}", "}], \"filters\": {\"tags\": [null]}}"),
                "filters.tags[0]");
    }

    @Test
    void nulAndLoneSurrogatesAreRefusedNamingTheFieldBeforeAnythingReachesSql() {
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("Ada\\u0000drinks tea")), "text", "NUL");
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("Ada \\ud800 drinks tea")), "text", "surrogate");
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("Ada drinks tea")).replace("{\"kind\": \"user\"}",
                "{\"kind\": \"user\", \"reference\": \"turn\\u0000-1\"}"), "provenance.reference");
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("Ada drinks tea")).replace("{\"kind\": \"user\"}",
                "{\"kind\": \"user\", \"author\": \"ada\\udc00\"}"), "provenance.author");
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("Ada drinks tea")).replace("\"scope\"", "\"tags\": [\"t\\u0000\"], \"scope\""),
                "tags");
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted(json("tea\\u0000")), "query");
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted(json("tea")).replace("}]}", "}], \"filters\": {\"tags\": [\"a\\u0000b\"]}}"),
                "filters.tags");
        assertRefused("POST", "/v1/memories/forget", "{\"scope\": {\"kind\": \"user\", \"id\": \"ada\"}, \"reason\": \"gdpr\\u0000\"}", "reason");

        String memoryId = gateway.send("POST", "/v1/memories", key, MEMORY.formatted(json("Ada drinks green tea"))).json().get("memory_id")
                .asString();
        assertRefused("DELETE", "/v1/memories/" + memoryId + "?reason=gdpr%00request", null, "reason", "NUL");
        assertThat(gateway.send("GET", "/v1/memories/" + memoryId, key, null).json().get("deleted_at").isNull()).isTrue();
    }

    @Test
    void textTheEmbedderReadsAsEmptyIsRefusedOnRememberAndRecall() {
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("\\u200b")), "text has no content the embedder can use");
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("\\u200b\\u00ad\\u0301 \\ufeff")), "text has no content the embedder can use");
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("\\ud800")), "text");
        assertRefused("POST", "/v1/memories", "{\"memories\": [" + MEMORY.formatted(json("fine")) + ", " + MEMORY.formatted(json("\\u200b")) + "]}",
                "Entry 1: text has no content the embedder can use");
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted(json("\\u200b")), "query has no content the embedder can use");
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted(json("\\ud800")), "query");
        assertThatThrownBy(() -> TestMemory.embedder().embed("\u200b"))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
    }

    @Test
    void aQueryOfMoreDistinctWordsThanLuceneTakesClausesIsAnsweredOnItsFirstWords() {
        // A scope of its own, so that the one memory in it is the only possible answer.
        String memory = MEMORY.replace("\"ada\"", "\"oolong-fan\"");
        String recallTemplate = RECALL.replace("\"ada\"", "\"oolong-fan\"");
        String stored = gateway.send("POST", "/v1/memories", key, memory.formatted(json("Ada's favourite tea is oolong"))).json()
                .get("memory_id").asString();
        String words = "oolong tea " + IntStream.range(0, 2000).mapToObj(i -> "w" + i).collect(Collectors.joining(" "));
        for (String mode : List.of("keyword", "hybrid")) {
            TestGateway.Response recall = gateway.send("POST", "/v1/memories/recall", key,
                    recallTemplate.formatted(json(words)).replace("}]}", "}], \"mode\": \"" + mode + "\"}"));
            assertThat(recall.status()).as(recall.raw().body()).isEqualTo(200);
            assertThat(recall.json().get("facts").get(0).get("memory_id").asString()).isEqualTo(stored);
        }
        // Words past the first 512 distinct ones are not searched.
        String late = IntStream.range(0, 600).mapToObj(i -> "w" + i).collect(Collectors.joining(" ")) + " oolong";
        TestGateway.Response recall = gateway.send("POST", "/v1/memories/recall", key,
                recallTemplate.formatted(json(late)).replace("}]}", "}], \"mode\": \"keyword\"}"));
        assertThat(recall.status()).as(recall.raw().body()).isEqualTo(200);
        assertThat(recall.json().get("facts").size()).isZero();

        String tags = IntStream.range(0, 33).mapToObj(i -> "\"t" + i + "\"").collect(Collectors.joining(", "));
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted(json("tea")).replace("}]}", "}], \"filters\": {\"tags\": [" + tags + "]}}"),
                "filters.tags", "limit is 32");
    }

    @Test
    void instantsOutsideTheYears0001To9999AreRefusedNamingTheField() {
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted(json("tea")).replace("}]}",
                "}], \"filters\": {\"from\": \"-999999999-01-01T00:00:00Z\"}}"), "filters.from", "0001 to 9999");
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted(json("tea")).replace("}]}",
                "}], \"filters\": {\"to\": \"+999999999-12-31T23:59:59Z\"}}"), "filters.to", "0001 to 9999");
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted(json("tea")).replace("}]}",
                "}], \"filters\": {\"from\": \"-999999999-01-01T00:00:00Z\", \"to\": \"-999999998-01-01T00:00:00Z\"}}"), "filters.from");
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("Ada met Bo")).replace("{\"kind\": \"user\"}",
                "{\"kind\": \"user\", \"observed_at\": \"-999999999-01-01T00:00:00Z\"}"), "provenance.observed_at", "0001 to 9999");
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("Ada met Bo")).replace("{\"kind\": \"user\"}",
                "{\"kind\": \"user\", \"observed_at\": \"+10000-01-01T00:00:00Z\"}"), "provenance.observed_at", "0001 to 9999");

        TestGateway.Response edges = gateway.send("POST", "/v1/memories/recall", key, RECALL.formatted(json("tea")).replace("}]}",
                "}], \"filters\": {\"from\": \"0001-01-01T00:00:00Z\", \"to\": \"9999-12-31T23:59:59Z\"}}"));
        assertThat(edges.status()).as(edges.raw().body()).isEqualTo(200);

        Caller caller = TestMemory.caller(TestMemory.tenant());
        assertThatThrownBy(() -> soma.remember(caller, new NewMemory("Ada met Bo", Scope.of("user", "ada"), List.of(),
                new Provenance(SourceKind.USER, Optional.empty(), Optional.empty(), Optional.of(Instant.MIN)), Optional.empty())))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.detail()).contains("provenance.observed_at"));
        assertThatThrownBy(() -> new RecallQuery("tea", List.of(Scope.tenant()), 5, List.of(), Optional.of(Instant.MIN), Optional.empty(),
                RecallMode.HYBRID)).isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.detail()).contains("filters.from"));
    }

    @Test
    void valuesOfTheWrongTypeAreRefusedNamingTheField() {
        // Strict types come from the kernel's Json (no scalar coercion); memory parses through it.
        assertRefused("POST", "/v1/memories", MEMORY.formatted("7"), "text");
        assertRefused("POST", "/v1/memories", MEMORY.formatted("true"), "text");
        assertRefused("POST", "/v1/memories", MEMORY.formatted(json("Ada likes jazz")).replace("\"scope\"", "\"ttl_seconds\": 1.5, \"scope\""),
                "ttl_seconds");
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted(json("tea")).replace("}]}", "}], \"k\": 1.5}"), "k");
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted(json("tea")).replace("}]}", "}], \"k\": \"5\"}"), "k");
        assertRefused("POST", "/v1/memories/recall", RECALL.formatted("42"), "query");
    }
}
