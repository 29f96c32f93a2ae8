package io.somastack.workflows;

import io.javalin.apibuilder.EndpointGroup;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.agents.Agents;
import io.somastack.agents.AgentsConfig;
import io.somastack.gateway.BucketRateLimiter;
import io.somastack.gateway.GatewayConfig;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Idempotency;
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
import io.somastack.metering.Budgets;
import io.somastack.metering.CapsuleCharges;
import io.somastack.metering.Ledger;
import io.somastack.metering.LedgerUsageMeter;
import io.somastack.metering.PriceBook;
import io.somastack.metering.SkuCatalog;
import io.somastack.metering.SkuMeter;
import io.somastack.models.MeteredModels;
import io.somastack.models.MiniLmEmbedder;
import io.somastack.models.ModelRouter;
import io.somastack.models.Models;
import io.somastack.models.ModelsConfig;
import io.somastack.models.TestModel;
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
import io.somastack.tools.Tools;
import io.somastack.tools.ToolsConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;

/**
 * Team workflows on a fresh database behind the real gateway pieces, as soma-agents' TestAgents
 * builds agents: the real marketplace, constitution, tool broker, memory (MiniLM), the turn loop
 * on the real tiny LLM (stories260K) and Temporal's in-process service. Job-minutes cost
 * {@link #JOB_MINUTE} in the SKU catalog. {@link #restart()} closes the workflows (the embedded
 * engine and its memory with them) and starts them again on the same database.
 */
final class TestWorkflows implements AutoCloseable {
    static final BigDecimal JOB_MINUTE = new BigDecimal("0.60");
    private static MiniLmEmbedder embedder;

    final Clock clock = Clock.system();
    final Ids ids = new Ids(clock);
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final Database database = TestDatabase.create();
    final GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 64, 2);
    final Constitution constitution = Constitution.create(PolicyConfig.defaults(), database, commit, clock, ids);
    final Marketplace marketplace = Marketplace.create(MarketplaceConfig.defaults(), database, commit, constitution, clock, ids);
    final Ledger ledger = new Ledger(database.jdbi(), clock, ids);
    final Budgets budgets = new Budgets(database.asyncCommitDataSource(), clock, ids, Duration.ofMinutes(10), meters);
    final Tenants tenants = new Tenants(database.jdbi(), database.dataSource(), clock, ids);
    final SkuCatalog catalog = new SkuCatalog(database.jdbi(), commit, clock, ids, "USD");
    final Sessions sessions;
    final ModelRouter router;
    final Tools tools;
    final Memory memory;
    final Agents agents;
    final TestGateway gateway;
    final Workflows workflows;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    TestWorkflows() {
        sessions = new Sessions(database.jdbi(), clock, GatewayConfig.from(Settings.of(Map.of())).audience(), Duration.ofMinutes(15)).start();
        Settings models = Settings.load(Map.of("SOMA_LOCAL_MODEL", TestModel.path().toString(), "SOMA_LOCAL_CONTEXT_SIZE", "1024",
                "SOMA_LOCAL_THREADS", "1"), Optional.empty());
        router = Models.router(ModelsConfig.from(models, Map.of()), clock);
        PriceBook prices = new PriceBook(List.of());
        // A looping tool is stopped by the sandbox after a second: a run that calls it is under way long enough to act on.
        tools = Tools.create(ToolsConfig.defaults().withWasmLimits(Duration.ofSeconds(1), 64L << 20, 1L << 20), database, commit, marketplace,
                constitution, budgets, ledger, prices, clock, ids, meters);
        try {
            memory = Memory.create(MemoryConfig.defaults(Files.createTempDirectory("workflows-memory")), database, commit, clock, ids, meters,
                    embedder()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        GatewayConfig gatewayConfig = GatewayConfig.from(Settings.of(Map.of()));
        MeteredModels metered = new MeteredModels(router, new LedgerUsageMeter(prices, budgets, ledger, clock), commit,
                new BucketRateLimiter(gatewayConfig.rateLimits(), gatewayConfig.bucketStore()), meters, 4096);
        agents = Agents.create(AgentsConfig.defaults().withMaxOutputTokens(128), database, commit, marketplace, constitution, tools,
                memory.memories(), budgets, metered, new LedgerUsageMeter(prices, budgets, ledger, clock), prices,
                new CapsuleCharges(new SkuMeter(clock, ids), clock, ids), sessions, clock, ids, meters).start();
        catalog.seed(List.of(new SkuCatalog.NewPrice("job_minute", "USD", "flat", "minute", JOB_MINUTE, null, null, "2020-01", null)));
        workflows = Workflows.create(WorkflowsConfig.defaults("local"), database, commit, marketplace, agents.runs(), tenants, budgets, ledger,
                catalog, clock, ids).start();
        gateway = new TestGateway(database, commit, clock, ids, meters, Set.of(MarketplaceRoutes.PUBLISH), this::routes);
    }

    private EndpointGroup routes(Guard guard) {
        Idempotency idempotency = new Idempotency(database.jdbi());
        List<EndpointGroup> groups = List.of(constitution.routes(guard), marketplace.routes(guard), agents.routes(guard),
                workflows.routes(guard, idempotency));
        return () -> groups.forEach(EndpointGroup::addEndpoints);
    }

    /** Stops the workflows' in-memory engine and worker (their history is lost), and starts them again on the same database. */
    void restart() {
        workflows.close();
        workflows.start();
    }

    static synchronized MiniLmEmbedder embedder() {
        if (embedder == null) {
            embedder = new MiniLmEmbedder();
        }
        return embedder;
    }

    static byte[] wasm(String name) {
        try (InputStream in = TestWorkflows.class.getResourceAsStream("/wasm/" + name + ".wasm")) {
            if (in == null) {
                throw new IllegalStateException("No module " + name + " in soma-tools' test jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A signed bundle of agent {@code name} on the local model; with {@code loopingTool}, tool {@code wait} is a
     * WebAssembly module that runs until the sandbox stops it (a run forced to call it stays under way for that long).
     */
    static byte[] agentBundle(String publisher, String name, boolean loopingTool) {
        return agentBundle(publisher, name, loopingTool, "");
    }

    /** As {@link #agentBundle(String, String, boolean)}, with {@code extraYaml} (top-level manifest sections) appended to its manifest. */
    static byte[] agentBundle(String publisher, String name, boolean loopingTool, String extraYaml) {
        StringBuilder manifest = new StringBuilder("""
                name: %s
                version: 1.0.0
                publisher: %s
                description: An agent for workflow tests.
                model:
                  preferred: [local]
                  capabilities: [chat, tools]
                system_prompt: You answer briefly.
                """.formatted(name, publisher));
        if (loopingTool) {
            manifest.append("""
                    tools:
                      - name: wait
                        description: Waits.
                        input_schema: {type: object, properties: {text: {type: string, maxLength: 8}}, required: [text], additionalProperties: false}
                        executor: {kind: wasm, module: tools/loop.wasm}
                    """);
        }
        manifest.append("""
                permissions:
                  max_budget_per_run_usd: "0.01"
                """).append(extraYaml);
        String sbom = TestCapsules.sbom("is-number.cdx.json");
        Map<String, byte[]> files = new LinkedHashMap<>(TestCapsules.files(manifest.toString(), sbom));
        if (loopingTool) {
            byte[] module = wasm("loop");
            sbom = TestCapsules.withFile(sbom, "tools/loop.wasm", module);
            files.put("tools/loop.wasm", module);
        }
        files.put("sbom.cdx.json", sbom.getBytes(StandardCharsets.UTF_8));
        return TestCapsules.zip(files);
    }

    /** A tenant with its API key and publishing key. */
    record Client(String apiKey, SigningKeys keys, Tenant tenant) {
    }

    private static final String[] SCOPES = {"capsules:read", "capsules:write", "policy:read", "policy:write", "agents:run", "usage:read"};

    /** A new tenant (with a monthly budget, if given) that trusts its own publishing key. */
    Client tenant(String name, Optional<Money> budget) {
        Tenant tenant = commit.execute(tx -> tenants.create(tx, name, "standard", GatewayConfig.from(Settings.of(Map.of())).region(), budget,
                "operator", "req"));
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
        HttpResponse<String> published = publish(client, bundle);
        if (published.statusCode() != 201) {
            throw new AssertionError("publish: " + published.body());
        }
        TestGateway.Response installed = gateway.send("POST", "/v1/capsules/" + name + "/install", client.apiKey(), null);
        if (installed.status() != 201) {
            throw new AssertionError("install: " + installed.raw().body());
        }
    }

    /** Publishes {@code bundle} signed by the client's key; the marketplace's answer. */
    HttpResponse<String> publish(Client client, byte[] bundle) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(gateway.baseUrl() + MarketplaceRoutes.PUBLISH))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + client.apiKey()).header("Content-Type", "application/zip")
                .header(MarketplaceRoutes.SIGNATURE_HEADER, Signatures.sign(client.keys().privateKeyPem(), bundle) + "; key-id=" + client.keys().keyId())
                .POST(HttpRequest.BodyPublishers.ofByteArray(bundle)).build();
        return send(request);
    }

    /** One server-sent event as a client parsed it. */
    record Sse(String event, int id, JsonNode data) {
    }

    /** Reads the job's events (after {@code lastEventId}, if given) until the stream ends or {@code until} holds for one. */
    List<Sse> events(String jobId, String apiKey, Optional<Integer> lastEventId, Predicate<Sse> until) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/v1/jobs/" + jobId + "/events"))
                .timeout(Duration.ofSeconds(90)).header("Authorization", "Bearer " + apiKey);
        lastEventId.ifPresent(id -> request.header("Last-Event-ID", Integer.toString(id)));
        try {
            HttpResponse<Stream<String>> response = http.send(request.GET().build(), HttpResponse.BodyHandlers.ofLines());
            if (response.statusCode() != 200) {
                throw new AssertionError("status %d: %s".formatted(response.statusCode(), String.join("\n", response.body().toList())));
            }
            List<Sse> events = new ArrayList<>();
            String event = null;
            int id = -1;
            try (Stream<String> lines = response.body()) {
                var iterator = lines.iterator();
                while (iterator.hasNext()) {
                    String line = iterator.next();
                    if (line.startsWith("event: ")) {
                        event = line.substring(7);
                    } else if (line.startsWith("id: ")) {
                        id = Integer.parseInt(line.substring(4));
                    } else if (line.startsWith("data: ")) {
                        Sse sse = new Sse(event, id, Json.mapper().readTree(line.substring(6)));
                        events.add(sse);
                        if (until.test(sse) || sse.event().startsWith("job.") && !sse.event().equals("job.started")) {
                            break;
                        }
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

    long count(String sql) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(Long.class).one());
    }

    BigDecimal sum(String sql) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(BigDecimal.class).one());
    }

    @Override
    public void close() {
        gateway.close();
        workflows.close();
        agents.close();
        memory.close();
        tools.close();
        router.close();
        marketplace.close();
        commit.close();
        database.close();
    }
}
