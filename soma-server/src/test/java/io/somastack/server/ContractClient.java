package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import tools.jackson.databind.JsonNode;

/**
 * Calls the real server and checks each exchange against the OpenAPI document: the request
 * body against the operation's request schema, the answer's status, media type and body
 * against its responses. What does not conform is collected (not thrown), so one test
 * reports every mismatch; operations answered with a 2xx are counted as covered.
 */
final class ContractClient {
    private final TestServer soma;
    private final OpenApiDocument document;
    private final List<String> violations = new ArrayList<>();
    private final Set<String> covered = new TreeSet<>();

    ContractClient(TestServer soma, OpenApiDocument document) {
        this.soma = soma;
        this.document = document;
    }

    /** Sends a request and checks the exchange; {@code body} is JSON (or null). */
    TestServer.Response call(String method, String path, String token, String body, String... headers) {
        String decoded = URLDecoder.decode(path.contains("?") ? path.substring(0, path.indexOf('?')) : path, StandardCharsets.UTF_8);
        var operation = document.find(method, decoded);
        if (operation.isEmpty()) {
            violations.add("%s %s: no operation of the document matches".formatted(method, path));
            return soma.send(method, path, token, body, headers);
        }
        if (body != null) {
            document.requestErrors(operation.get(), Json.mapper().readTree(body))
                    .forEach(error -> violations.add("%s request body: %s".formatted(operation.get(), error)));
        }
        TestServer.Response response = soma.send(method, path, token, body, headers);
        List<String> errors = document.responseErrors(operation.get(), response.status(), response.header("Content-Type"), response.body());
        errors.forEach(error -> violations.add("%s %s answered %d: %s".formatted(method, path, response.status(), error)));
        if (response.status() >= 200 && response.status() < 300) {
            covered.add(operation.get().key());
        }
        return response;
    }

    /** Like {@link #call}, and records a violation when the status is not {@code status}. */
    TestServer.Response expect(int status, String method, String path, String token, String body, String... headers) {
        TestServer.Response response = call(method, path, token, body, headers);
        if (response.status() != status) {
            violations.add("%s %s answered %d, not %d: %s".formatted(method, path, response.status(), status, response.body()));
        }
        return response;
    }

    /** The JSON answer, which later steps need: a wrong status fails at once. */
    JsonNode json(int status, String method, String path, String token, String body) {
        TestServer.Response response = call(method, path, token, body);
        assertThat(response.status()).as("%s %s: %s (and so far: %s)", method, path, response.body(), violations).isEqualTo(status);
        return response.json();
    }

    List<String> violations() {
        return violations;
    }

    Set<String> covered() {
        return covered;
    }
}
