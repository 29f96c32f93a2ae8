package io.somastack.tools;

import static java.util.Objects.requireNonNull;

import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.jackson3.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.gateway.Problems;
import io.somastack.kernel.ErrorCategory;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.memory.Caller;
import io.somastack.memory.Fact;
import io.somastack.memory.Memories;
import io.somastack.memory.NewMemory;
import io.somastack.memory.Recall;
import io.somastack.memory.RecallMode;
import io.somastack.memory.RecallQuery;
import io.somastack.memory.Remembered;
import io.somastack.memory.Scope;
import io.somastack.memory.SourceKind;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * SomaStack as an MCP server at {@code /mcp}: Streamable HTTP with the MCP Java SDK's own
 * servlet transport and server (no protocol code here), on the same Jetty as the API, with the
 * gateway's {@link Guard} in front (Bearer API key or session token, region, rate limits, scope
 * {@code tools:invoke}).
 *
 * <p>It lists the tenant's installed, runnable capsules' tools as {@code <capsule>__<tool>}, plus
 * {@code memory_remember} (scope {@code memory:write}) and {@code memory_recall}
 * ({@code memory:read}), and only those this caller may call: key scopes and runtime policy
 * apply to {@code tools/list} (policy asked without recording). Each call runs through the
 * {@link ToolBroker} (schema, policy on record, budget, ledger, audit, event); its deltas are
 * progress notifications when the client sent a progress token. A tool that fails, is refused or
 * is gone answers an error result ({@code isError: true}) with the reason.
 *
 * <p>One SDK server per tenant (tool names are per tenant), created at the tenant's first request.
 * Its tool set follows the tenant's installs on every request and every {@code refresh}
 * interval; a change (a revoked or uninstalled capsule, a new install) sends
 * {@code notifications/tools/list_changed} to the tenant's open sessions. Each request is
 * authenticated and acts as its own caller, whatever session it names. Thread-safe.
 */
public final class McpEndpoint implements AutoCloseable {
    public static final String PATH = "/mcp";
    /** How often, by default, tenants' tool sets follow their installs between requests. */
    public static final Duration DEFAULT_REFRESH = Duration.ofSeconds(5);
    public static final String REMEMBER = "memory_remember";
    public static final String RECALL = "memory_recall";
    private static final Logger LOG = LoggerFactory.getLogger(McpEndpoint.class);
    private static final String PRINCIPAL = "somastack.principal";
    private static final String REQUEST_ID = "somastack.request_id";
    private static final String CALLABLE = "somastack.callable";
    private static final Pattern REQUEST_ID_PATTERN = Pattern.compile("^[A-Za-z0-9._:-]{1,128}$");
    private static final String SEPARATOR = "__";

    private final Guard guard;
    private final ToolBroker broker;
    private final Memories memories;
    private final int maxRequestBytes;
    private final McpJsonMapper mapper = new JacksonMcpJsonMapper(JsonMapper.builder().build());
    private final Map<TenantId, TenantServer> servers = new ConcurrentHashMap<>();
    private final ScheduledExecutorService refresher;
    private volatile Front front;

    /**
     * @param refresh how often the tool sets of tenants with a server follow their installs (and
     *     notify open sessions of a change), besides on every request
     * @param maxRequestBytes the largest JSON-RPC message accepted
     */
    public McpEndpoint(Guard guard, ToolBroker broker, Memories memories, Duration refresh, int maxRequestBytes) {
        this.guard = requireNonNull(guard, "guard is null");
        this.broker = requireNonNull(broker, "broker is null");
        this.memories = requireNonNull(memories, "memories is null");
        this.maxRequestBytes = maxRequestBytes;
        refresher = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("mcp-tools-refresh").daemon().factory());
        refresher.scheduleWithFixedDelay(this::refreshAll, refresh.toMillis(), refresh.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Mounts {@code /mcp} on the API's servlet context (Javalin's {@code jetty.modifyServletContextHandler}). */
    public void mount(ServletContextHandler context) {
        Front servlet = new Front();
        front = servlet;
        ServletHolder holder = new ServletHolder("mcp", servlet);
        holder.setAsyncSupported(true);
        context.addServlet(holder, PATH);
    }

    /** The MCP names of the tools {@code tenant}'s server offers now (before filtering by caller). */
    public Set<String> offered(TenantId tenant) {
        TenantServer server = servers.get(tenant);
        return server == null ? Set.of() : Set.copyOf(server.registered.keySet());
    }

    /** Authenticates, follows the tenant's installs, and hands the request to the tenant's SDK transport. */
    private final class Front extends HttpServlet {
        @Override
        protected void service(HttpServletRequest request, HttpServletResponse response) throws ServletException, IOException {
            String incoming = request.getHeader("X-Request-Id");
            String requestId = incoming != null && REQUEST_ID_PATTERN.matcher(incoming).matches() ? incoming
                    : "req_" + HexFormat.of().formatHex(randomBytes());
            response.setHeader("X-Request-Id", requestId);
            MDC.put("request_id", requestId);
            try {
                Principal principal;
                TenantServer server;
                try {
                    principal = guard.tenant(request.getHeader("Authorization"), ToolRoutes.SCOPE, response::setHeader);
                    server = servers.computeIfAbsent(principal.tenant().id(), TenantServer::new);
                    server.follow();
                } catch (SomaException e) {
                    problem(response, e, requestId);
                    return;
                }
                ToolCaller caller = ToolCaller.of(principal, requestId);
                request.setAttribute(PRINCIPAL, principal);
                request.setAttribute(REQUEST_ID, requestId);
                request.setAttribute(CALLABLE, memoized(() -> visible(principal, caller)));
                server.transport.service(request, response);
            } finally {
                MDC.remove("request_id");
                MDC.remove("tenant_id");
            }
        }
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[12];
        ThreadLocalRandom.current().nextBytes(bytes);
        return bytes;
    }

    private static void problem(HttpServletResponse response, SomaException e, String requestId) throws IOException {
        ErrorCode code = e.code();
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("type", code.type());
        problem.put("title", code.title());
        problem.put("status", code.status());
        problem.put("detail", code.category() == ErrorCategory.INTERNAL ? "Internal error; quote the request id" : e.detail());
        problem.put("instance", requestId);
        if (code.category() != ErrorCategory.INTERNAL) {
            problem.putAll(e.extensions());
        }
        if (code.status() == 401) {
            response.setHeader("WWW-Authenticate", "Bearer realm=\"somastack\"");
        }
        if (e.extensions().get("retry_after_seconds") instanceof Number seconds) {
            response.setHeader("Retry-After", Long.toString(seconds.longValue()));
        }
        response.setStatus(code.status());
        response.setContentType(Problems.CONTENT_TYPE);
        response.getOutputStream().write(Json.bytes(problem));
    }

    /** The MCP names this caller may call: its scopes and runtime policy decide. */
    private Set<String> visible(Principal principal, ToolCaller caller) {
        Set<String> names = new HashSet<>();
        for (ToolBroker.ToolInfo tool : broker.callable(caller)) {
            names.add(tool.capsule() + SEPARATOR + tool.name());
        }
        if (principal.scopes().contains("memory:write")) {
            names.add(REMEMBER);
        }
        if (principal.scopes().contains("memory:read")) {
            names.add(RECALL);
        }
        return names;
    }

    private static <T> Supplier<T> memoized(Supplier<T> supplier) {
        return new Supplier<>() {
            private T value;

            @Override
            public synchronized T get() {
                if (value == null) {
                    value = supplier.get();
                }
                return value;
            }
        };
    }

    /** One tenant's SDK server and transport, with the tools it offers (MCP name -> what it was registered from). */
    private final class TenantServer {
        final TenantId tenant;
        final HttpServletStreamableServerTransportProvider transport;
        final McpSyncServer server;
        final Map<String, Object> registered = new ConcurrentHashMap<>();

        TenantServer(TenantId tenant) {
            this.tenant = tenant;
            transport = HttpServletStreamableServerTransportProvider.builder().jsonMapper(mapper).mcpEndpoint(PATH).maxRequestSize(maxRequestBytes)
                    .contextExtractor(request -> McpTransportContext.create(Map.of(PRINCIPAL, request.getAttribute(PRINCIPAL),
                            REQUEST_ID, request.getAttribute(REQUEST_ID), CALLABLE, request.getAttribute(CALLABLE))))
                    .build();
            try {
                transport.init(front.getServletConfig());
            } catch (ServletException e) {
                throw new IllegalStateException("Cannot start the MCP transport: " + e.getMessage(), e);
            }
            server = McpServer.sync(transport).serverInfo("somastack", "0.1.0").jsonMapper(mapper)
                    .instructions("The tools of this tenant's installed capsules, named <capsule>__<tool>, and its memory.")
                    .capabilities(McpSchema.ServerCapabilities.builder().tools(true).build())
                    .validateToolInputs(false)
                    .addToolFilter((context, tool) -> context.get(CALLABLE) instanceof Supplier<?> callable
                            && ((Set<?>) callable.get()).contains(tool.name()))
                    .tools(memoryTools())
                    .build();
            registered.put(REMEMBER, REMEMBER);
            registered.put(RECALL, RECALL);
        }

        /** Offers exactly the tools of the tenant's runnable installs; a change notifies open sessions. */
        synchronized void follow() {
            Map<String, ToolBroker.ToolInfo> wanted = new LinkedHashMap<>();
            for (ToolBroker.ToolInfo tool : broker.installed(tenant)) {
                wanted.put(tool.capsule() + SEPARATOR + tool.name(), tool);
            }
            for (String name : new ArrayList<>(registered.keySet())) {
                if (registered.get(name) instanceof ToolBroker.ToolInfo had && !had.equals(wanted.get(name))) {
                    server.removeTool(name);
                    registered.remove(name);
                }
            }
            wanted.forEach((name, tool) -> {
                if (!registered.containsKey(name)) {
                    server.addTool(capsuleTool(name, tool));
                    registered.put(name, tool);
                }
            });
        }

        void close() {
            try {
                server.closeGracefully();
            } catch (RuntimeException e) {
                LOG.debug("Closing the MCP server of {} failed: {}", tenant, e.toString());
            }
        }
    }

    private void refreshAll() {
        for (TenantServer server : servers.values()) {
            try {
                server.follow();
            } catch (RuntimeException e) {
                LOG.warn("Following the installs of {} for /mcp failed: {}", server.tenant, e.getMessage());
            }
        }
    }

    private McpServerFeatures.SyncToolSpecification capsuleTool(String name, ToolBroker.ToolInfo tool) {
        Map<String, Object> schema = Json.mapper().convertValue(tool.inputSchema(), new TypeReference<Map<String, Object>>() {
        });
        return McpServerFeatures.SyncToolSpecification.builder()
                .tool(McpSchema.Tool.builder(name).description("%s (%s@%s, %s)".formatted(tool.description(), tool.capsule(), tool.version(),
                        tool.executor())).inputSchema(schema).build())
                .callHandler((exchange, request) -> callCapsuleTool(exchange, request, tool))
                .build();
    }

    private McpSchema.CallToolResult callCapsuleTool(McpSyncServerExchange exchange, McpSchema.CallToolRequest request, ToolBroker.ToolInfo tool) {
        ToolCaller caller = caller(exchange);
        Object token = request.meta() == null ? null : request.meta().get("progressToken");
        ToolSink sink = event -> {
            if (token != null && event instanceof ToolEvent.Delta delta) {
                exchange.progressNotification(new McpSchema.ProgressNotification(token, delta.index() + 1, null, delta.text()));
            }
        };
        JsonNode arguments = Json.mapper().valueToTree(request.arguments() == null ? Map.of() : request.arguments());
        try {
            return switch (broker.call(caller, tool.capsule(), tool.name(), arguments, sink)) {
                case ToolResult.Completed completed -> success(completed.result());
                case ToolResult.Failed failed -> {
                    yield error("%s: %s".formatted(failed.reason().wire(), failed.message()));
                }
            };
        } catch (SomaException e) {
            return error(e.code().type().substring(e.code().type().lastIndexOf('/') + 1) + ": " + e.detail());
        }
    }

    private List<McpServerFeatures.SyncToolSpecification> memoryTools() {
        String remember = """
                {"type": "object", "properties": {"text": {"type": "string", "minLength": 1},
                 "scope": {"type": "object", "properties": {"kind": {"enum": ["tenant", "agent", "user", "conversation"]}, "id": {"type": "string"}},
                           "required": ["kind"]},
                 "tags": {"type": "array", "items": {"type": "string"}}},
                 "required": ["text"], "additionalProperties": false}""";
        String recall = """
                {"type": "object", "properties": {"query": {"type": "string", "minLength": 1},
                 "k": {"type": "integer", "minimum": 1, "maximum": 50},
                 "scopes": {"type": "array", "items": {"type": "object", "properties": {"kind": {"type": "string"}, "id": {"type": "string"}},
                            "required": ["kind"]}}},
                 "required": ["query"], "additionalProperties": false}""";
        return List.of(
                McpServerFeatures.SyncToolSpecification.builder()
                        .tool(McpSchema.Tool.builder(REMEMBER).description("Remember a fact in this tenant's memory (tenant scope unless given)")
                                .inputSchema(mapper, remember).build())
                        .callHandler((exchange, request) -> memoryCall(() -> remember(exchange, request.arguments())))
                        .build(),
                McpServerFeatures.SyncToolSpecification.builder()
                        .tool(McpSchema.Tool.builder(RECALL).description("Recall the facts most relevant to a query from this tenant's memory")
                                .inputSchema(mapper, recall).build())
                        .callHandler((exchange, request) -> memoryCall(() -> recall(exchange, request.arguments())))
                        .build());
    }

    private McpSchema.CallToolResult memoryCall(Supplier<Object> call) {
        try {
            return success(Json.mapper().valueToTree(call.get()));
        } catch (SomaException e) {
            return error(e.code().type().substring(e.code().type().lastIndexOf('/') + 1) + ": " + e.detail());
        }
    }

    private Object remember(McpSyncServerExchange exchange, Map<String, Object> arguments) {
        Caller caller = memoryCaller(exchange, "memory:write");
        Map<String, Object> args = arguments == null ? Map.of() : arguments;
        if (!(args.get("text") instanceof String text) || text.isBlank()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "text is required: the fact to remember");
        }
        Scope scope = args.get("scope") instanceof Map<?, ?> given ? Scope.of(string(given.get("kind")), string(given.get("id"))) : Scope.tenant();
        NewMemory memory = NewMemory.of(text, scope, SourceKind.TOOL);
        if (args.get("tags") instanceof List<?> tags) {
            memory = new NewMemory(memory.text(), memory.scope(), tags.stream().map(String::valueOf).toList(), memory.provenance(), memory.ttl());
        }
        Remembered done = memories.remember(caller, List.of(memory), Optional.empty()).results().getFirst();
        return Map.of("memory_id", done.memoryId().toString(), "revision_id", done.revisionId().toString(),
                "outcome", done.outcome().name().toLowerCase(java.util.Locale.ROOT));
    }

    private Object recall(McpSyncServerExchange exchange, Map<String, Object> arguments) {
        Caller caller = memoryCaller(exchange, "memory:read");
        Map<String, Object> args = arguments == null ? Map.of() : arguments;
        if (!(args.get("query") instanceof String query) || query.isBlank()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "query is required");
        }
        int k = args.get("k") instanceof Number number ? number.intValue() : 5;
        List<Scope> scopes = args.get("scopes") instanceof List<?> given ? given.stream()
                .map(entry -> entry instanceof Map<?, ?> map ? Scope.of(string(map.get("kind")), string(map.get("id"))) : Scope.of(null, null))
                .toList() : List.of(Scope.tenant());
        Recall recall = memories.recall(caller, RecallQuery.of(query, scopes, k, RecallMode.HYBRID));
        List<Map<String, Object>> facts = new ArrayList<>();
        for (Fact fact : recall.facts()) {
            facts.add(Map.of("memory_id", fact.memoryId().toString(), "text", fact.text(), "score", fact.score(), "scope", fact.scope().key()));
        }
        return Map.of("recall_id", recall.id().toString(), "facts", facts);
    }

    private static String string(Object value) {
        return value == null ? null : String.valueOf(value);
    }

    /** Memory's caller for this request, holding {@code scope} (memory decides which memory scopes it may use). */
    private static Caller memoryCaller(McpSyncServerExchange exchange, String scope) {
        Principal principal = principal(exchange);
        principal.requireScope(scope);
        return new Caller(principal.tenant().id(), principal.keyId(), principal.actor(), principal.agentRestriction(),
                (String) exchange.transportContext().get(REQUEST_ID));
    }

    private static Principal principal(McpSyncServerExchange exchange) {
        if (!(exchange.transportContext().get(PRINCIPAL) instanceof Principal principal)) {
            throw new SomaException(ErrorCode.MISSING_CREDENTIALS, "No authenticated caller for this MCP request");
        }
        return principal;
    }

    private static ToolCaller caller(McpSyncServerExchange exchange) {
        return ToolCaller.of(principal(exchange), (String) exchange.transportContext().get(REQUEST_ID));
    }

    private McpSchema.CallToolResult success(JsonNode result) {
        McpSchema.CallToolResult.Builder builder = McpSchema.CallToolResult.builder().addTextContent(Json.text(result));
        if (result.isObject()) {
            builder.structuredContent(Json.mapper().convertValue(result, new TypeReference<Map<String, Object>>() {
            }));
        }
        return builder.build();
    }

    private static McpSchema.CallToolResult error(String text) {
        return McpSchema.CallToolResult.builder().isError(true).addTextContent(text).build();
    }

    @Override
    public void close() {
        refresher.shutdownNow();
        servers.values().forEach(TenantServer::close);
        servers.clear();
    }
}
