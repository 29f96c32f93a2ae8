package io.somastack.tools;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.gateway.Guard;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.marketplace.Marketplace;
import io.somastack.metering.Budgets;
import io.somastack.metering.Ledger;
import io.somastack.metering.PriceBook;
import io.somastack.policy.Constitution;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.tools.internal.ArgumentsCheck;
import io.somastack.tools.internal.CapsuleLoader;
import io.somastack.tools.internal.Executor;
import io.somastack.tools.internal.HttpExecutor;
import io.somastack.tools.internal.McpExecutor;
import io.somastack.tools.internal.McpInstallCheck;
import io.somastack.tools.internal.SecretsKeys;
import io.somastack.tools.internal.SsrfGuard;
import io.somastack.tools.internal.ToolMetrics;
import io.somastack.tools.internal.WasmExecutor;
import io.somastack.memory.Memories;
import java.time.Duration;
import java.util.Map;

/**
 * The tool capability, assembled: the {@link ToolBroker} with its executors (WebAssembly,
 * HTTP and MCP) and the routes. {@link #close()} stops the sandboxes.
 *
 * <pre>{@code
 * Tools tools = Tools.create(ToolsConfig.from(settings, dataDirectory, embedded), database, commit, marketplace, constitution, budgets, ledger, priceBook,
 *         clock, ids, meters);
 * web.routes.apiBuilder(tools.routes(guard));
 * ToolResult result = tools.broker().call(ToolCaller.of(principal, requestId), "weather", "forecast", arguments, sink);
 * }</pre>
 */
public final class Tools implements AutoCloseable {
    private final ToolsConfig config;
    private final ToolBroker broker;
    private final ToolSecrets secrets;
    private final ToolSettings settings;
    private final WasmExecutor wasm;
    private final HttpExecutor http;
    private final McpExecutor mcp;

    private Tools(ToolsConfig config, ToolBroker broker, ToolSecrets secrets, ToolSettings settings, WasmExecutor wasm, HttpExecutor http,
            McpExecutor mcp) {
        this.config = config;
        this.broker = broker;
        this.secrets = secrets;
        this.settings = settings;
        this.wasm = wasm;
        this.http = http;
        this.mcp = mcp;
    }

    /** Tools resolving host names with the system resolver. */
    public static Tools create(ToolsConfig config, Database database, GroupCommit commit, Marketplace marketplace, Constitution constitution,
            Budgets budgets, Ledger ledger, PriceBook priceBook, Clock clock, Ids ids, MeterRegistry meters) {
        return create(config, database, commit, marketplace, constitution, budgets, ledger, priceBook, clock, ids, meters, Resolver.SYSTEM);
    }

    /** Tools whose SSRF guard resolves host names with {@code resolver} (tests map names to addresses). */
    public static Tools create(ToolsConfig config, Database database, GroupCommit commit, Marketplace marketplace, Constitution constitution,
            Budgets budgets, Ledger ledger, PriceBook priceBook, Clock clock, Ids ids, MeterRegistry meters, Resolver resolver) {
        requireNonNull(config, "config is null");
        requireNonNull(database, "database is null");
        ToolMetrics metrics = new ToolMetrics(meters);
        ArgumentsCheck arguments = new ArgumentsCheck();
        CapsuleLoader capsules = new CapsuleLoader(marketplace.catalog(), constitution.bundles(), arguments);
        WasmExecutor wasm = new WasmExecutor(config, metrics);
        SsrfGuard guard = new SsrfGuard(resolver, config.allowAddresses());
        HttpExecutor http = new HttpExecutor(config, guard, metrics);
        McpExecutor mcp = new McpExecutor(config, guard, metrics);
        ToolSecrets secrets = new ToolSecrets(database.jdbi(), SecretsKeys.aead(config.secretsKey()), clock);
        ToolSettings settings = new ToolSettings(database.jdbi(), secrets, clock);
        // Installing or updating a capsule asks each MCP server it names for its tools/list (refused, 400, listing every gap).
        marketplace.installs().addManifestCheck(new McpInstallCheck(mcp, settings::headers)::problems);
        Map<String, Executor> executors = Map.of("wasm", wasm, "http", http, "mcp", mcp);
        ToolBroker broker = new ToolBroker(marketplace.installs(), capsules, arguments, constitution.engine(), budgets, ledger,
                priceBook.withToolPrices(config.prices()), commit, executors, settings, metrics, clock, ids);
        return new Tools(config, broker, secrets, settings, wasm, http, mcp);
    }

    public ToolBroker broker() {
        return broker;
    }

    /** The tenants' sealed tool credentials. */
    public ToolSecrets secrets() {
        return secrets;
    }

    /** The tenants' per-tool settings (headers naming secrets). */
    public ToolSettings settings() {
        return settings;
    }

    public ToolsConfig config() {
        return config;
    }

    /** How many WebAssembly modules this node compiled (a cached module is compiled once). */
    public long wasmCompilations() {
        return wasm.modules().compilations();
    }

    /** The HTTP routes (invoke, tool secrets, tool settings), authorized by {@code guard}. */
    public ToolRoutes routes(Guard guard) {
        return new ToolRoutes(guard, broker, new ToolSettingsRoutes(guard, secrets, settings));
    }

    /**
     * The MCP endpoint ({@code /mcp}) over this broker and {@code memories}, authorized by
     * {@code guard}; {@code refresh} is how often tenants' tool sets follow their installs, and
     * {@code maxRequestBytes} the largest message (the gateway's body limit). Mount it with
     * {@link McpEndpoint#mount}; close it before the tools.
     */
    public McpEndpoint mcp(Guard guard, Memories memories, Duration refresh, long maxRequestBytes) {
        return new McpEndpoint(guard, broker, memories, refresh, (int) Math.min(Integer.MAX_VALUE, maxRequestBytes));
    }

    @Override
    public void close() {
        mcp.close();
        wasm.close();
        http.close();
    }
}
