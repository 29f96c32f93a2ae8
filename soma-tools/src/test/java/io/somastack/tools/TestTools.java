package io.somastack.tools;

import io.javalin.apibuilder.EndpointGroup;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.Guard;
import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.marketplace.Marketplace;
import io.somastack.marketplace.MarketplaceConfig;
import io.somastack.marketplace.MarketplaceRoutes;
import io.somastack.memory.Memory;
import io.somastack.memory.MemoryConfig;
import io.somastack.metering.Budgets;
import io.somastack.metering.Ledger;
import io.somastack.metering.PriceBook;
import io.somastack.metering.UsageRoutes;
import io.somastack.models.MiniLmEmbedder;
import io.somastack.policy.Constitution;
import io.somastack.policy.PolicyConfig;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import io.somastack.policy.TestCapsules;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tool broker on a fresh database behind the real gateway pieces, with the marketplace,
 * the constitution and usage routes, and helpers to publish, sign and install capsules whose
 * tools are real WebAssembly modules (built from src/test/wat by its build.sh).
 */
final class TestTools implements AutoCloseable {
    final Clock clock = Clock.system();
    final Ids ids = new Ids(clock);
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final Database database = TestDatabase.create();
    final GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 64, 2);
    final Constitution constitution = Constitution.create(PolicyConfig.defaults(), database, commit, clock, ids);
    final Marketplace marketplace = Marketplace.create(MarketplaceConfig.defaults(), database, commit, constitution, clock, ids);
    final Ledger ledger = new Ledger(database.jdbi(), clock, ids);
    final Budgets budgets = new Budgets(database.asyncCommitDataSource(), clock, ids, Duration.ofMinutes(10), meters);
    final Tools tools;
    final TestGateway gateway;
    /** With {@code /mcp}: the tenant memory its memory tools use, and the endpoint. */
    final Memory memory;
    volatile McpEndpoint mcp;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    TestTools(ToolsConfig config) {
        this(config, Resolver.SYSTEM);
    }

    TestTools(ToolsConfig config, Resolver resolver) {
        this(config, resolver, false);
    }

    /** With {@code withMcp}, also memory and {@code /mcp} on the same Jetty, as soma-server mounts it. */
    TestTools(ToolsConfig config, Resolver resolver, boolean withMcp) {
        tools = Tools.create(config, database, commit, marketplace, constitution, budgets, ledger, new PriceBook(List.of()), clock, ids, meters,
                resolver);
        if (withMcp) {
            try {
                memory = Memory.create(MemoryConfig.defaults(Path.of("target")).withIndexDirectory(Files.createTempDirectory("mcp-memory")),
                        database, commit, clock, ids, meters, new MiniLmEmbedder()).start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        } else {
            memory = null;
        }
        gateway = new TestGateway(database, commit, clock, ids, meters, Set.of(MarketplaceRoutes.PUBLISH), this::routes, (guard, context) -> {
            if (withMcp) {
                mcp = tools.mcp(guard, memory.memories(), Duration.ofMillis(300), 4 << 20);
                mcp.mount(context);
            }
        });
    }

    private EndpointGroup routes(Guard guard) {
        List<EndpointGroup> groups = List.of(constitution.routes(guard), marketplace.routes(guard), tools.routes(guard),
                new UsageRoutes(guard, ledger, clock));
        return () -> groups.forEach(EndpointGroup::addEndpoints);
    }

    static byte[] wasm(String name) {
        try (InputStream in = TestTools.class.getResourceAsStream("/wasm/" + name + ".wasm")) {
            if (in == null) {
                throw new IllegalStateException("No module " + name + ": run src/test/wat/build.sh");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A tool entry of a manifest. */
    record Tool(String name, String inputSchema, String executor) {
        static Tool wasm(String name, String module, String inputSchema) {
            return new Tool(name, inputSchema, "{kind: wasm, module: tools/%s.wasm}".formatted(module));
        }

        static Tool remote(String name, String kind, String url, String inputSchema) {
            return new Tool(name, inputSchema, "{kind: %s, url: \"%s\"}".formatted(kind, url));
        }

        /** An MCP tool of the operator's stdio server {@code server}. */
        static Tool stdio(String name, String server, String inputSchema) {
            return new Tool(name, inputSchema, "{kind: mcp, server: \"%s\"}".formatted(server));
        }
    }

    /** A signed bundle of {@code name@version} with {@code tools}, its modules and an SBOM listing them. */
    static byte[] bundle(String name, String version, List<String> egress, List<Tool> tools, Map<String, byte[]> modules) {
        return bundle(name.split("-")[0], name, version, egress, tools, modules);
    }

    /** As above, published by {@code publisher} (a publisher name belongs to one tenant). */
    static byte[] bundle(String publisher, String name, String version, List<String> egress, List<Tool> tools, Map<String, byte[]> modules) {
        StringBuilder manifest = new StringBuilder("""
                name: %s
                version: %s
                publisher: %s
                description: Tools for tests.
                model:
                  capabilities: [chat, tools]
                system_prompt: You use tools.
                tools:
                """.formatted(name, version, publisher));
        for (Tool tool : tools) {
            manifest.append("""
                      - name: %s
                        description: The %s tool.
                        input_schema: %s
                        executor: %s
                    """.formatted(tool.name(), tool.name(), tool.inputSchema(), tool.executor()));
        }
        manifest.append("""
                permissions:
                  egress: [%s]
                  max_budget_per_run_usd: "0.50"
                """.formatted(String.join(", ", egress)));
        String sbom = TestCapsules.sbom("is-number.cdx.json");
        Map<String, byte[]> files = new LinkedHashMap<>(TestCapsules.files(manifest.toString(), sbom));
        for (Map.Entry<String, byte[]> module : modules.entrySet()) {
            String path = "tools/" + module.getKey() + ".wasm";
            sbom = TestCapsules.withFile(sbom, path, module.getValue());
            files.put(path, module.getValue());
        }
        files.put("sbom.cdx.json", sbom.getBytes(StandardCharsets.UTF_8));
        return TestCapsules.zip(files);
    }

    /** A tenant that publishes with its own trusted key: its API key. */
    record Tenant(String apiKey, SigningKeys keys) {
    }

    Tenant tenant(String name, String... extraScopes) {
        List<String> scopes = new java.util.ArrayList<>(List.of("capsules:read", "capsules:write", "policy:read", "policy:write", "tools:invoke",
                "usage:read"));
        scopes.addAll(List.of(extraScopes));
        String apiKey = gateway.tenantKey(name, scopes.toArray(String[]::new));
        SigningKeys keys = Signatures.generate();
        TestGateway.Response trusted = gateway.send("POST", "/v1/policy/trusted-keys", apiKey,
                Json.text(Map.of("name", "release key", "role", "publisher", "public_key_pem", keys.publicKeyPem())));
        if (trusted.status() != 201) {
            throw new AssertionError(trusted.raw().body());
        }
        return new Tenant(apiKey, keys);
    }

    /** Publishes {@code bundle} signed by the tenant's key and installs it in the tenant. */
    void publishAndInstall(Tenant tenant, String name, byte[] bundle) {
        publish(tenant, bundle);
        TestGateway.Response installed = install(tenant, name);
        if (installed.status() != 201) {
            throw new AssertionError("install: " + installed.raw().body());
        }
    }

    /** Publishes {@code bundle} signed by the tenant's key. */
    void publish(Tenant tenant, byte[] bundle) {
        HttpResponse<String> published = tryPublish(tenant, bundle);
        if (published.statusCode() != 201) {
            throw new AssertionError("publish: " + published.body());
        }
    }

    /** Publishes {@code bundle} signed by the tenant's key: the answer, whatever it is. */
    HttpResponse<String> tryPublish(Tenant tenant, byte[] bundle) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(gateway.baseUrl() + MarketplaceRoutes.PUBLISH))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + tenant.apiKey()).header("Content-Type", "application/zip")
                .header(MarketplaceRoutes.SIGNATURE_HEADER, Signatures.sign(tenant.keys().privateKeyPem(), bundle) + "; key-id=" + tenant.keys().keyId())
                .POST(HttpRequest.BodyPublishers.ofByteArray(bundle)).build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@code POST /v1/capsules/{name}/install} of the latest version, as the tenant. */
    TestGateway.Response install(Tenant tenant, String name) {
        return gateway.send("POST", "/v1/capsules/" + name + "/install", tenant.apiKey(), null);
    }

    TestGateway.Response invoke(String apiKey, String capsule, String tool, String arguments, String... headers) {
        return gateway.send("POST", "/v1/tools/%s/%s/invoke".formatted(capsule, tool), apiKey, "{\"arguments\": %s}".formatted(arguments), headers);
    }

    long count(String sql) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(Long.class).one());
    }

    List<String> strings(String sql) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(String.class).list());
    }

    @Override
    public void close() {
        gateway.close();
        if (mcp != null) {
            mcp.close();
        }
        if (memory != null) {
            memory.close();
        }
        tools.close();
        marketplace.close();
        commit.close();
        database.close();
    }
}
