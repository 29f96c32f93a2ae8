package io.somastack.marketplace;

import io.somastack.kernel.Json;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code somastack capsule publish|install|update|search|revoke}: the marketplace half of the
 * capsule workflow, over HTTP with a tenant API key ({@code --api-key} or {@code SOMA_API_KEY})
 * against {@code --url} ({@code SOMA_URL}, default {@code http://127.0.0.1:8080}). Each prints
 * the JSON answer; an error prints the problem document and exits 1.
 */
public final class MarketplaceCommands {
    private MarketplaceCommands() {
    }

    /** The commands, to be added under {@code somastack capsule}. */
    public static List<Object> all() {
        return List.of(new Publish(), new Install(), new Update(), new Search(), new Revoke());
    }

    /** Options every marketplace command shares. */
    abstract static class Remote implements Callable<Integer> {
        @Option(names = "--url", description = "SomaStack base URL (default: SOMA_URL or http://127.0.0.1:8080)")
        String url;

        @Option(names = "--api-key", description = "Tenant API key with capsules:read/capsules:write (default: SOMA_API_KEY)")
        String apiKey;

        int send(String method, String path, String contentType, byte[] body, List<String> signatures) throws Exception {
            String key = apiKey != null ? apiKey : System.getenv("SOMA_API_KEY");
            if (key == null || key.isBlank()) {
                throw new CommandLine.ParameterException(new CommandLine(this), "Give --api-key or set SOMA_API_KEY");
            }
            String base = url != null ? url : System.getenv().getOrDefault("SOMA_URL", "http://127.0.0.1:8080");
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base.replaceAll("/$", "") + path))
                    .header("Authorization", "Bearer " + key).timeout(Duration.ofMinutes(2));
            signatures.forEach(signature -> request.header(MarketplaceRoutes.SIGNATURE_HEADER, signature));
            if (body != null) {
                request.header("Content-Type", contentType).method(method, HttpRequest.BodyPublishers.ofByteArray(body));
            } else {
                request.method(method, HttpRequest.BodyPublishers.noBody());
            }
            try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
                HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
                String text = response.body().isBlank() ? "{}" : Json.mapper().writerWithDefaultPrettyPrinter()
                        .writeValueAsString(Json.mapper().readValue(response.body(), Object.class));
                if (response.statusCode() >= 400) {
                    System.err.println(text);
                    return 1;
                }
                System.out.println(text);
                return 0;
            } catch (java.io.IOException e) {
                System.err.printf("somastack: cannot reach SomaStack at %s (%s); is it running?%n", base,
                        e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
                return 1;
            }
        }

        static byte[] json(Map<String, ?> body) {
            return Json.bytes(body);
        }

        static String encode(String text) {
            return URLEncoder.encode(text, StandardCharsets.UTF_8);
        }
    }

    @Command(name = "publish", description = "Publish a packed, signed bundle to the marketplace.")
    static final class Publish extends Remote {
        @Parameters(index = "0", description = "Bundle file (from 'capsule pack')") Path bundle;

        @Option(names = "--signature", required = true, description = "Signature file from 'capsule sign' or openssl (repeatable)")
        List<Path> signatures;

        @Override
        public Integer call() throws Exception {
            List<String> headers = new ArrayList<>();
            for (Path signature : signatures) {
                headers.add(Files.readString(signature, StandardCharsets.US_ASCII).trim());
            }
            return send("POST", MarketplaceRoutes.PUBLISH, "application/zip", Files.readAllBytes(bundle), headers);
        }
    }

    @Command(name = "install", description = "Install a capsule into your tenant (admission runs).")
    static final class Install extends Remote {
        @Parameters(index = "0", description = "Capsule name") String name;

        @Option(names = "--version", description = "Version (default: the latest)") String version;

        @Override
        public Integer call() throws Exception {
            return send("POST", "/v1/capsules/" + encode(name) + "/install", "application/json",
                    json(version == null ? Map.of() : Map.of("version", version)), List.of());
        }
    }

    @Command(name = "update", description = "Update an installed capsule to a newer version (admission runs).")
    static final class Update extends Remote {
        @Parameters(index = "0", description = "Capsule name") String name;

        @Option(names = "--version", description = "Version (default: the latest)") String version;

        @Override
        public Integer call() throws Exception {
            return send("POST", "/v1/capsules/" + encode(name) + "/update", "application/json",
                    json(version == null ? Map.of() : Map.of("version", version)), List.of());
        }
    }

    @Command(name = "search", description = "Search the catalog.")
    static final class Search extends Remote {
        @Parameters(index = "0", arity = "0..1", description = "Words to look for") String query;

        @Option(names = "--tag", description = "Only capsules with this tag") String tag;

        @Option(names = "--sort", description = "relevance, rank, latency, cost, newest or name") String sort;

        @Override
        public Integer call() throws Exception {
            StringBuilder path = new StringBuilder("/v1/capsules?limit=20");
            if (query != null) {
                path.append("&q=").append(encode(query));
            }
            if (tag != null) {
                path.append("&tag=").append(encode(tag));
            }
            if (sort != null) {
                path.append("&sort=").append(encode(sort));
            }
            return send("GET", path.toString(), null, null, List.of());
        }
    }

    @Command(name = "revoke", description = "Revoke a version you published: it can no longer be installed or run.")
    static final class Revoke extends Remote {
        @Parameters(index = "0", description = "Capsule name") String name;

        @Parameters(index = "1", description = "Version") String version;

        @Option(names = "--reason", required = true, description = "Why (shown to every tenant that installed it)") String reason;

        @Override
        public Integer call() throws Exception {
            return send("POST", "/v1/capsules/%s/versions/%s/revoke".formatted(encode(name), encode(version)), "application/json",
                    json(Map.of("reason", reason)), List.of());
        }
    }
}
