package io.somastack.agents;

import io.javalin.apibuilder.EndpointGroup;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.BucketRateLimiter;
import io.somastack.gateway.GatewayConfig;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Sessions;
import io.somastack.gateway.Tenant;
import io.somastack.gateway.Tenants;
import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.Settings;
import io.somastack.marketplace.Marketplace;
import io.somastack.marketplace.MarketplaceConfig;
import io.somastack.marketplace.MarketplaceRoutes;
import io.somastack.memory.Memory;
import io.somastack.memory.MemoryConfig;
import io.somastack.models.MiniLmEmbedder;
import io.somastack.metering.Budgets;
import io.somastack.metering.CapsuleCharges;
import io.somastack.metering.Ledger;
import io.somastack.metering.LedgerUsageMeter;
import io.somastack.metering.Price;
import io.somastack.metering.SkuMeter;
import io.somastack.metering.PriceBook;
import io.somastack.models.MeteredModels;
import io.somastack.models.ModelRouter;
import io.somastack.models.Models;
import io.somastack.models.ModelsConfig;
import io.somastack.models.OpenAiWireFixture;
import io.somastack.models.ProviderConfig;
import io.somastack.models.ProviderKind;
import io.somastack.policy.Constitution;
import io.somastack.policy.PolicyConfig;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import io.somastack.policy.TestCapsules;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.StoreConfig;
import io.somastack.store.TestDatabase;
import io.somastack.tools.Tools;
import io.somastack.tools.ToolsConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;

/**
 * Agents on a fresh database behind the real gateway pieces, with the real marketplace,
 * constitution, tool broker (WebAssembly modules from soma-tools' tests), memory (MiniLM) and
 * model router, whose model {@code gpt-test} is the OpenAI wire fixture (a stand-in for the paid
 * API) unless a test gives its own models. Helpers publish, sign and install capsules, and read
 * server-sent events.
 */
final class TestAgents implements AutoCloseable {
    static final String MODEL = "gpt-test";
    private static MiniLmEmbedder embedder;

    final Clock clock = Clock.system();
    final Ids ids = new Ids(clock);
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final StoreConfig store;
    final Database database;
    final GroupCommit commit;
    final Constitution constitution;
    final Marketplace marketplace;
    final Ledger ledger;
    final Budgets budgets;
    final Tenants tenants;
    final Sessions sessions;
    final OpenAiWireFixture openAi = new OpenAiWireFixture("sk-test");
    final ModelRouter router;
    final Tools tools;
    final Memory memory;
    final Agents agents;
    final TestGateway gateway;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    TestAgents(AgentsConfig config) {
        this(config, TestAgents::fixtureModels);
    }

    TestAgents(AgentsConfig config, Function<OpenAiWireFixture, ModelsConfig> models) {
        this(config, models, new StoreConfig(Optional.of(TestDatabase.newDatabaseUrl()), Optional.of("postgres"), Optional.empty(),
                Path.of("target"), 24, 256, Duration.ofSeconds(10)));
    }

    private TestAgents(AgentsConfig config, Function<OpenAiWireFixture, ModelsConfig> models, StoreConfig store) {
        this.store = store;
        database = new Database(store).start();
        commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 64, 2);
        constitution = Constitution.create(PolicyConfig.defaults(), database, commit, clock, ids);
        marketplace = Marketplace.create(MarketplaceConfig.defaults(), database, commit, constitution, clock, ids);
        ledger = new Ledger(database.jdbi(), clock, ids);
        budgets = new Budgets(database.asyncCommitDataSource(), clock, ids, Duration.ofMinutes(10), meters);
        tenants = new Tenants(database.jdbi(), database.dataSource(), clock, ids);
        sessions = new Sessions(database.jdbi(), clock, GatewayConfig.from(Settings.of(Map.of())).audience(), Duration.ofMinutes(15)).start();
        router = Models.router(models.apply(openAi), clock);
        // gpt-4o-mini at $1 per million tokens each way: a fixture call of 12 + 5 tokens costs 0.000017.
        PriceBook prices = new PriceBook(List.of(new Price("gpt-4o-mini", Money.of("1"), Money.of("1"), Instant.EPOCH)));
        tools = Tools.create(ToolsConfig.defaults(), database, commit, marketplace, constitution, budgets, ledger, prices, clock, ids, meters);
        try {
            memory = Memory.create(MemoryConfig.defaults(Files.createTempDirectory("agents-memory")), database, commit, clock, ids, meters,
                    embedder()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        GatewayConfig gatewayConfig = GatewayConfig.from(Settings.of(Map.of()));
        MeteredModels metered = new MeteredModels(router, new LedgerUsageMeter(prices, budgets, ledger, clock), commit,
                new BucketRateLimiter(gatewayConfig.rateLimits(), gatewayConfig.bucketStore()), meters, 4096);
        agents = Agents.create(config, database, commit, marketplace, constitution, tools, memory.memories(), budgets, metered,
                new LedgerUsageMeter(prices, budgets, ledger, clock), prices, new CapsuleCharges(new SkuMeter(clock, ids), clock, ids), sessions,
                clock, ids, meters).start();
        gateway = new TestGateway(database, commit, clock, ids, meters, Set.of(MarketplaceRoutes.PUBLISH), this::routes);
    }

    /**
     * A second server on this one's database: its own pool, LISTEN connection, group commit,
     * agents and gateway (port 0), and its own model fixture. Close it before this one.
     */
    TestAgents otherNode(AgentsConfig config) {
        return new TestAgents(config, TestAgents::fixtureModels, store);
    }

    private static ModelsConfig fixtureModels(OpenAiWireFixture fixture) {
        return new ModelsConfig(List.of(ProviderConfig.remote("openai", ProviderKind.OPENAI, fixture.baseUrl(), "sk-test", List.of())),
                Map.of(MODEL, List.of(new ModelsConfig.AliasTarget("openai", "gpt-4o-mini"))), ModelsConfig.CircuitBreaker.DEFAULTS);
    }

    private EndpointGroup routes(Guard guard) {
        List<EndpointGroup> groups = List.of(constitution.routes(guard), marketplace.routes(guard), tools.routes(guard), memory.routes(guard),
                agents.routes(guard));
        return () -> groups.forEach(EndpointGroup::addEndpoints);
    }

    static synchronized MiniLmEmbedder embedder() {
        if (embedder == null) {
            embedder = new MiniLmEmbedder();
        }
        return embedder;
    }

    static byte[] wasm(String name) {
        try (InputStream in = TestAgents.class.getResourceAsStream("/wasm/" + name + ".wasm")) {
            if (in == null) {
                throw new IllegalStateException("No module " + name + " in soma-tools' test jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final String TRANSFORM_SCHEMA = "{type: object, properties: {text: {type: string}}, required: [text], additionalProperties: false}";

    /**
     * A signed bundle of agent {@code name@version} preferring {@code model}, with the WebAssembly JSON transformer as tool
     * {@code transform} when {@code withTool}, the memory scopes given, and {@code extra} manifest lines.
     */
    static byte[] agentBundle(String publisher, String name, String version, String model, boolean withTool, List<String> scopes,
            String budget, String extra) {
        return agentBundle(publisher, name, version, model, withTool, TRANSFORM_SCHEMA, scopes, budget, extra);
    }

    /** As above, the tool's input schema {@code schema}. */
    static byte[] agentBundle(String publisher, String name, String version, String model, boolean withTool, String schema, List<String> scopes,
            String budget, String extra) {
        return agentBundle(publisher, name, version, model, withTool ? Optional.of("transform") : Optional.empty(), schema, scopes, budget, extra);
    }

    /** As above, with soma-tools' test module {@code module} (e.g. {@code loop}) as the tool of that name, when given. */
    static byte[] agentBundle(String publisher, String name, String version, String model, Optional<String> module, String schema,
            List<String> scopes, String budget, String extra) {
        boolean withTool = module.isPresent();
        StringBuilder manifest = new StringBuilder("""
                name: %s
                version: %s
                publisher: %s
                description: An agent for tests.
                model:
                  preferred: [%s]
                  capabilities: [chat, tools]
                system_prompt: You answer briefly.
                """.formatted(name, version, publisher, model));
        if (withTool) {
            manifest.append("""
                    tools:
                      - name: %1$s
                        description: Soma-tools' test module %1$s.
                        input_schema: %2$s
                        executor: {kind: wasm, module: tools/%1$s.wasm}
                    """.formatted(module.get(), schema));
        }
        if (!scopes.isEmpty()) {
            manifest.append("memory:\n  scopes: [%s]\n".formatted(String.join(", ", scopes)));
        }
        manifest.append(extra);
        manifest.append("""
                permissions:
                  max_budget_per_run_usd: "%s"
                """.formatted(budget));
        String sbom = TestCapsules.sbom("is-number.cdx.json");
        Map<String, byte[]> files = new LinkedHashMap<>(TestCapsules.files(manifest.toString(), sbom));
        if (withTool) {
            byte[] bytes = wasm(module.get());
            sbom = TestCapsules.withFile(sbom, "tools/%s.wasm".formatted(module.get()), bytes);
            files.put("tools/%s.wasm".formatted(module.get()), bytes);
        }
        files.put("sbom.cdx.json", sbom.getBytes(StandardCharsets.UTF_8));
        return TestCapsules.zip(files);
    }

    /** A tenant with its API key and publishing key. */
    record Client(String apiKey, SigningKeys keys, Tenant tenant) {
    }

    private static final String[] SCOPES = {"capsules:read", "capsules:write", "policy:read", "policy:write", "tools:invoke", "memory:read",
            "memory:write", "agents:run", "usage:read"};

    Client tenant(String name) {
        return tenant(name, Optional.empty());
    }

    /** A new tenant (with a monthly budget, if given) that trusts its own publishing key. */
    Client tenant(String name, Optional<Money> budget) {
        Tenant tenant = commit.execute(tx -> tenants.create(tx, name, "standard", GatewayConfig.from(Settings.of(Map.of())).region(), budget, "operator", "req"));
        String apiKey = gateway.key(tenant, SCOPES);
        SigningKeys keys = Signatures.generate();
        TestGateway.Response trusted = gateway.send("POST", "/v1/policy/trusted-keys", apiKey,
                Json.text(Map.of("name", "release key", "role", "publisher", "public_key_pem", keys.publicKeyPem())));
        if (trusted.status() != 201) {
            throw new AssertionError(trusted.raw().body());
        }
        return new Client(apiKey, keys, tenant);
    }

    /** Publishes {@code bundle} signed by the client's key and installs {@code name} in its tenant. */
    void publishAndInstall(Client client, String name, byte[] bundle) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(gateway.baseUrl() + MarketplaceRoutes.PUBLISH))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + client.apiKey()).header("Content-Type", "application/zip")
                .header(MarketplaceRoutes.SIGNATURE_HEADER, Signatures.sign(client.keys().privateKeyPem(), bundle) + "; key-id=" + client.keys().keyId())
                .POST(HttpRequest.BodyPublishers.ofByteArray(bundle)).build();
        HttpResponse<String> published = send(request);
        if (published.statusCode() != 201) {
            throw new AssertionError("publish: " + published.body());
        }
        TestGateway.Response installed = gateway.send("POST", "/v1/capsules/" + name + "/install", client.apiKey(), null);
        if (installed.status() != 201) {
            throw new AssertionError("install: " + installed.raw().body());
        }
    }

    TestGateway.Response run(String apiKey, String agent, String body, String... headers) {
        return gateway.send("POST", "/v1/agents/%s/runs".formatted(agent), apiKey, body, headers);
    }

    /** One server-sent event as a client parsed it. */
    record Sse(String event, int id, JsonNode data) {
    }

    /** Sends {@code request} and reads its server-sent events until the stream ends or {@code limit} events came. */
    List<Sse> events(HttpRequest request, int limit) {
        try {
            HttpResponse<Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
            if (response.statusCode() != 200) {
                throw new AssertionError("status %d: %s".formatted(response.statusCode(), String.join("\n", response.body().toList())));
            }
            List<Sse> events = new ArrayList<>();
            String event = null;
            int id = -1;
            try (Stream<String> lines = response.body()) {
                var iterator = lines.iterator();
                while (iterator.hasNext() && events.size() < limit) {
                    String line = iterator.next();
                    if (line.startsWith("event: ")) {
                        event = line.substring(7);
                    } else if (line.startsWith("id: ")) {
                        id = Integer.parseInt(line.substring(4));
                    } else if (line.startsWith("data: ")) {
                        events.add(new Sse(event, id, Json.mapper().readTree(line.substring(6))));
                    }
                }
            }
            return events;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpRequest.Builder request(String path, String apiKey) {
        return HttpRequest.newBuilder(URI.create(gateway.baseUrl() + path)).timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + apiKey);
    }

    HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpClient http() {
        return http;
    }

    long count(String sql) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(Long.class).one());
    }

    Money sum(String sql) {
        java.math.BigDecimal amount = database.jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(java.math.BigDecimal.class).one());
        return Money.of(amount);
    }

    @Override
    public void close() {
        gateway.close();
        agents.close();
        memory.close();
        tools.close();
        router.close();
        openAi.close();
        marketplace.close();
        commit.close();
        database.close();
    }
}
