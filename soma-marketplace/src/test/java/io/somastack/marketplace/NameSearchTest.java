package io.somastack.marketplace;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Search by a capsule's name as people type it: whole, hyphenated, or the first letters (a catalog of its own, beside SearchAndRankingTest's). */
class NameSearchTest {
    private static TestMarketplace soma;
    private static String reader;

    @BeforeAll
    static void start() {
        soma = new TestMarketplace();
        TestMarketplace.Publisher acme = soma.publisher("acme-tools-pub");
        publish(acme, "acc-cap", "Tracks what each team may spend.", List.of("finance"));
        publish(acme, "acc-cap-pro", "Tracks what each team may spend, with forecasts.", List.of("finance"));
        publish(acme, "accent-coach", "Helps you practise pronunciation.", List.of("language"));
        publish(acme, "weather-now", "Current conditions for any city.", List.of("weather"));
        publish(acme, "tick-feed", "Streams market prices.", List.of("real-time", "markets"));
        reader = soma.gateway.tenantKey("name-searcher", "capsules:read");
    }

    @AfterAll
    static void stop() {
        if (soma != null) {
            soma.close();
        }
    }

    private static void publish(TestMarketplace.Publisher publisher, String name, String description, List<String> tags) {
        byte[] bundle = TestMarketplace.bundle(io.somastack.policy.TestCapsules.listing(name, "1.0.0", "acme-tools", description, tags, "MIT", null));
        assertThat(soma.publishZip(publisher.apiKey(), bundle, publisher.keys()).statusCode()).isEqualTo(201);
    }

    private static JsonNode search(String query) {
        TestGateway.Response response = soma.gateway.send("GET", "/v1/capsules?q=" + query, reader, null);
        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        return response.json().get("data");
    }

    private static List<String> names(String query) {
        List<String> names = new ArrayList<>();
        search(query).forEach(entry -> names.add(entry.get("name").asString()));
        return names;
    }

    @Test
    void findsACapsuleByItsExactName() {
        // Exact first, then names it begins; accent-coach, weather-now and tick-feed are not about acc-cap.
        assertThat(names("acc-cap")).containsExactly("acc-cap", "acc-cap-pro");
        assertThat(names("ACC-CAP")).containsExactly("acc-cap", "acc-cap-pro");
        assertThat(names("accent-coach")).containsExactly("accent-coach");
        assertThat(names("weather-now")).containsExactly("weather-now");
        JsonNode hits = search("acc-cap");
        assertThat(hits.get(0).get("relevance").asDouble()).isGreaterThan(hits.get(1).get("relevance").asDouble());
    }

    @Test
    void findsACapsuleByAHyphenatedWordOfItsNameOrTags() {
        assertThat(names("cap")).containsExactlyInAnyOrder("acc-cap", "acc-cap-pro");
        assertThat(names("real-time")).containsExactly("tick-feed");
        assertThat(names("now")).isEmpty(); // a stop word, and no name begins with it
    }

    @Test
    void findsACapsuleByAPrefixOfItsName() {
        assertThat(names("acc-c")).containsExactly("acc-cap", "acc-cap-pro");
        assertThat(names("acc")).containsExactlyInAnyOrder("acc-cap", "acc-cap-pro", "accent-coach");
        assertThat(names("accen")).containsExactly("accent-coach");
        assertThat(names("wea")).containsExactly("weather-now");
        // LIKE's wildcards are plain characters here.
        assertThat(names("a%25c")).isEmpty();
        assertThat(names("_cc")).isEmpty();
        assertThat(names("spaceships")).isEmpty();
    }
}
