package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpClientTransport;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.jackson3.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import io.somastack.tools.FailureReason;
import io.somastack.tools.ToolsConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs an MCP tool with the official MCP Java SDK over Streamable HTTP: the server's
 * {@code tools/list} must contain the declared tool (else {@code upstream_error} naming what it
 * lists), then {@code tools/call} with a progress token, each progress notification a delta.
 * A structured result is the tool's result; otherwise {@code {"content": [...]}}. A result with
 * {@code isError} is {@code upstream_error} with its text.
 *
 * <p>The same egress and SSRF rules as HTTP tools: the broker checks the declared egress, the
 * {@link SsrfGuard} checks the host before connecting, and the SDK's HTTP client connects only
 * to an address the guard checked: for {@code http} its proxy selector names the checked
 * address as the "proxy", so the request goes there in absolute form (no second lookup, no DNS
 * rebinding); for {@code https} the guard checks the name before each connection and TLS binds
 * the connection to the name's certificate. A capsule never names a command: an MCP tool has an
 * {@code http(s)} URL or names an operator's stdio server ({@code tools.mcp.servers}), started by
 * {@link OperatorProcess}, reused, and started again when it has exited.
 *
 * <p>One initialized client (one MCP session) per tenant and server URL, reused across calls and
 * dropped when its transport fails; the tool list is re-read when the server says it changed
 * or lacks the tool. Thread-safe.
 */
public final class McpExecutor implements Executor, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(McpExecutor.class);
    private static final int MAX_SESSIONS = 1024;

    private final ToolsConfig config;
    private final SsrfGuard guard;
    private final ToolMetrics metrics;
    private final McpJsonMapper mapper = new JacksonMcpJsonMapper(JsonMapper.builder().build());
    private final Map<Key, Session> sessions = new ConcurrentHashMap<>();

    public McpExecutor(ToolsConfig config, SsrfGuard guard, ToolMetrics metrics) {
        this.config = requireNonNull(config, "config is null");
        this.guard = requireNonNull(guard, "guard is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
    }

    /**
     * A session's identity: the tenant, the server, and a SHA-256 of the headers it sends (so
     * changed settings open a new session, and the secrets themselves are not kept in the key).
     */
    private record Key(TenantId tenant, String target, String headersSha256) {
        static Key of(TenantId tenant, Target target) {
            return new Key(tenant, target.toString(), target.headers().isEmpty() ? ""
                    : Hashing.sha256(Json.bytes(new java.util.TreeMap<>(target.headers()))));
        }
    }

    /**
     * Where an MCP tool runs: a Streamable HTTP server at {@code url} (with the tenant's headers),
     * or the operator's stdio server {@code server}. {@code toString} names it, never the headers.
     */
    private record Target(Optional<URI> url, Optional<String> server, Map<String, String> headers) {
        @Override
        public String toString() {
            return url.map(URI::toString).orElseGet(() -> "stdio server '" + server.orElseThrow() + "'");
        }
    }

    /** Where {@code tool} runs, or the failure that says why it cannot (a bad scheme, an SSRF refusal, an unknown server). */
    private Object target(Optional<URI> toolUrl, Optional<String> toolServer, Map<String, String> headers) {
        if (toolServer.isPresent()) {
            String server = toolServer.get();
            if (!config.mcpServers().containsKey(server)) {
                return new Outcome.Failure(FailureReason.DENIED, "No MCP server '%s' is configured on this node (tools.mcp.servers has %s)"
                        .formatted(server, config.mcpServers().keySet().stream().sorted().toList()), "");
            }
            return new Target(Optional.empty(), Optional.of(server), Map.of());
        }
        URI url = toolUrl.orElseThrow();
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return new Outcome.Failure(FailureReason.DENIED, "An MCP tool's url is http or https (%s is not): a capsule never names a command"
                    .formatted(url), "");
        }
        try {
            guard.check(url.getHost());
        } catch (SsrfGuard.Refused e) {
            metrics.ssrfRefusal(e.reason());
            return new Outcome.Failure(FailureReason.DENIED, "Refused %s: %s".formatted(url, e.getMessage()), "");
        }
        return new Target(Optional.of(url), Optional.empty(), headers);
    }

    @Override
    public Outcome execute(TenantId tenant, CapsuleTools capsule, ToolSpec tool, byte[] arguments, Map<String, String> headers, Consumer<String> deltas) {
        Object resolved = target(tool.url(), tool.server(), headers);
        if (resolved instanceof Outcome.Failure refused) {
            return refused;
        }
        Target url = (Target) resolved;
        Key key = Key.of(tenant, url);
        Session session;
        try {
            session = session(key, url);
        } catch (RuntimeException e) {
            return failure(url, e);
        }
        DeltaStream stream = new DeltaStream(config.httpMaxResponseBytes(), config.deltaBytes(), deltas);
        String token = UUID.randomUUID().toString();
        try {
            if (!session.lists(tool.name())) {
                Optional<Outcome> gone = unlisted(url, tool, session);
                if (gone.isPresent()) {
                    return gone.get();
                }
            }
            // Notifications may arrive on more than one of the client's threads; the stream is not thread-safe.
            session.progress.put(token, text -> {
                synchronized (stream) {
                    try {
                        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
                        stream.write(bytes, 0, bytes.length);
                    } catch (DeltaStream.OutputLimitExceeded ignored) {
                        // stream.exceeded() says so after the call
                    }
                }
            });
            Map<String, Object> args = mapper.readValue(arguments, new io.modelcontextprotocol.json.TypeRef<Map<String, Object>>() {
            });
            McpSchema.CallToolResult result;
            try {
                result = session.block(session.client.callTool(McpSchema.CallToolRequest.builder(tool.name())
                        .arguments(args).progressToken(token).build()));
            } catch (McpError e) {
                return unlisted(url, tool, session).orElseThrow(() -> e);
            }
            synchronized (stream) {
                stream.finish();
            }
            if (stream.exceeded()) {
                return new Outcome.Failure(FailureReason.OUTPUT_LIMIT, "The MCP server's progress exceeded %d bytes".formatted(config.httpMaxResponseBytes()), "");
            }
            if (Boolean.TRUE.equals(result.isError())) {
                Optional<Outcome> gone = unlisted(url, tool, session);
                if (gone.isPresent()) {
                    return gone.get();
                }
            }
            return outcome(url, tool, result);
        } catch (IOException e) {
            return new Outcome.Failure(FailureReason.UPSTREAM_ERROR, "Cannot read the arguments: " + e.getMessage(), "");
        } catch (RuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                // Cancelled by the caller: the session is fine, and other calls may be in flight on it.
                return new Outcome.Failure(FailureReason.TIMEOUT, "The call was cancelled", "");
            }
            Outcome.Failure failure = failure(url, e);
            // A broken session is replaced; a call that timed out (or an error answer) leaves it serving the other calls in flight.
            if (!(e instanceof McpError) && failure.reason() != FailureReason.TIMEOUT) {
                drop(key, session);
            }
            return failure;
        } finally {
            session.progress.remove(token);
        }
    }

    /**
     * After the server refused a call, or before calling a tool its cached list lacks: the list
     * read again, and if the tool is not in it, the failure that says so (a server may drop a
     * tool after the capsule was installed; its own "unknown tool" answer is less clear).
     */
    private Optional<Outcome> unlisted(Target url, ToolSpec tool, Session session) {
        session.refresh();
        if (session.lists(tool.name())) {
            return Optional.empty();
        }
        return Optional.of(new Outcome.Failure(FailureReason.UPSTREAM_ERROR, notListed(url, tool.name(), session.tools), ""));
    }

    private static String notListed(Target url, String tool, Set<String> listed) {
        return "The MCP server at %s does not list the tool '%s' (its tools/list has %s)".formatted(url, tool, listed.stream().sorted().toList());
    }

    /** What an MCP server lists, for the install check: its tool names, or why it cannot be reached. */
    public sealed interface Listing {
        record Listed(Set<String> tools) implements Listing {
        }

        record Unreachable(String reason) implements Listing {
        }
    }

    /**
     * The tools the MCP server at {@code url} (or the operator's stdio {@code server}) lists now,
     * through the same SSRF guard and session as a call of {@code tenant} (so the session opened
     * here serves the tenant's first call).
     */
    public Listing list(TenantId tenant, Optional<URI> url, Optional<String> server, Map<String, String> headers) {
        Object resolved = target(url, server, headers);
        if (resolved instanceof Outcome.Failure refused) {
            return new Listing.Unreachable(refused.message());
        }
        Target target = (Target) resolved;
        Key key = Key.of(tenant, target);
        Session session = null;
        try {
            session = session(key, target);
            session.refresh();
            return new Listing.Listed(session.tools);
        } catch (RuntimeException e) {
            if (session != null) {
                drop(key, session);
            }
            return new Listing.Unreachable(failure(target, e).message());
        }
    }

    private Outcome outcome(Target url, ToolSpec tool, McpSchema.CallToolResult result) throws IOException {
        if (Boolean.TRUE.equals(result.isError())) {
            String text = result.content() == null ? "" : result.content().stream()
                    .map(content -> content instanceof McpSchema.TextContent textContent ? textContent.text() : content.type())
                    .collect(Collectors.joining("\n"));
            return new Outcome.Failure(FailureReason.UPSTREAM_ERROR, "The MCP tool %s at %s answered an error: %s".formatted(tool.name(), url,
                    text.length() > 2048 ? text.substring(0, 2048) + "…" : text), "");
        }
        JsonNode json;
        if (result.structuredContent() != null) {
            json = Json.tree(mapper.writeValueAsBytes(result.structuredContent()));
        } else {
            json = Json.mapper().createObjectNode().set("content", Json.tree(mapper.writeValueAsBytes(
                    result.content() == null ? List.of() : result.content())));
        }
        if (Json.bytes(json).length > config.httpMaxResponseBytes()) {
            return new Outcome.Failure(FailureReason.OUTPUT_LIMIT, "The MCP result exceeded %d bytes".formatted(config.httpMaxResponseBytes()), "");
        }
        return new Outcome.Success(json, "");
    }

    private Outcome.Failure failure(Target url, Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof SsrfGuard.Refused refused) {
                metrics.ssrfRefusal(refused.reason());
                return new Outcome.Failure(FailureReason.DENIED, "Refused %s: %s".formatted(url, refused.getMessage()), "");
            }
            if (t instanceof TimeoutException || t instanceof java.net.http.HttpTimeoutException || t instanceof BlockTimeout) {
                return new Outcome.Failure(FailureReason.TIMEOUT, "The MCP server did not answer within %d ms".formatted(config.httpTimeout().toMillis()), "");
            }
            if (t instanceof McpError error && error.getJsonRpcError() != null) {
                return new Outcome.Failure(FailureReason.UPSTREAM_ERROR, "The MCP server at %s answered error %d: %s".formatted(url,
                        error.getJsonRpcError().code(), error.getJsonRpcError().message()), "");
            }
        }
        return new Outcome.Failure(FailureReason.UPSTREAM_ERROR, "%s failed: %s".formatted(url, McpError.aggregateExceptionMessages(cause)), "");
    }

    private Session session(Key key, Target target) {
        Session existing = sessions.get(key);
        if (existing != null && existing.alive()) {
            return existing;
        }
        if (existing != null) {
            // An operator's stdio server died: started again for this call.
            LOG.warn("The MCP {} exited; starting it again", target);
            drop(key, existing);
        }
        Session created = new Session(target);
        Session raced = sessions.putIfAbsent(key, created);
        if (raced != null) {
            created.close();
            return raced;
        }
        if (sessions.size() > MAX_SESSIONS) {
            // Bounded: the oldest-looking sessions go; a dropped session is simply opened again.
            sessions.entrySet().stream().filter(entry -> entry.getValue() != created).limit(sessions.size() - MAX_SESSIONS)
                    .toList().forEach(entry -> drop(entry.getKey(), entry.getValue()));
        }
        return created;
    }

    private void drop(Key key, Session session) {
        if (sessions.remove(key, session)) {
            session.close();
        }
    }

    /** A blocking wait outlived the SDK's own request timeout (a backstop: the SDK normally times out first). */
    private static final class BlockTimeout extends RuntimeException {
        BlockTimeout(Throwable cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /**
     * One initialized MCP client, its server's tool names, and the progress sinks of its calls in
     * flight. The SDK's asynchronous client, because its synchronous one hands each notification
     * to its consumer on a pool thread, which can reorder progress; here a consumer runs in the
     * order the server sent them.
     */
    private final class Session {
        final McpAsyncClient client;
        final Map<String, Consumer<String>> progress = new ConcurrentHashMap<>();
        volatile Set<String> tools = Set.of();

        /** The operator's stdio server process, once found; empty for HTTP servers. */
        volatile Optional<ProcessHandle> process = Optional.empty();

        Session(Target target) {
            McpClientTransport transport;
            OperatorProcess stdio = null;
            if (target.server().isPresent()) {
                stdio = new OperatorProcess(config.mcpServers().get(target.server().get()), mapper);
                transport = stdio;
            } else {
                URI url = target.url().orElseThrow();
                String base = url.getScheme() + "://" + url.getRawAuthority();
                String endpoint = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath()
                        + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery());
                HttpClient.Builder http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .followRedirects(HttpClient.Redirect.NEVER).proxy(new CheckedAddress());
                transport = HttpClientStreamableHttpTransport.builder(base).endpoint(endpoint).clientBuilder(http)
                        .connectTimeout(config.httpConnectTimeout()).jsonMapper(mapper)
                        .httpRequestCustomizer((request, method, uri, body, context) -> target.headers().forEach(request::header))
                        .maxResponseSize((int) Math.min(Integer.MAX_VALUE, config.httpMaxResponseBytes())).build();
            }
            client = McpClient.async(transport).requestTimeout(config.httpTimeout()).initializationTimeout(config.httpTimeout())
                    .clientInfo(new McpSchema.Implementation("somastack", "1"))
                    .progressConsumer(notification -> Mono.fromRunnable(() -> {
                        Consumer<String> sink = progress.get(String.valueOf(notification.progressToken()));
                        if (sink != null) {
                            sink.accept(notification.message() != null ? notification.message() : Json.text(Map.of("progress",
                                    notification.progress(), "total", notification.total() == null ? "" : notification.total())));
                        }
                    }))
                    .toolsChangeConsumer(list -> Mono.fromRunnable(() -> tools = names(list)))
                    .build();
            try {
                block(client.initialize());
                if (stdio != null) {
                    process = stdio.find();
                }
                refresh();
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        /** False once an operator's stdio server has exited (an HTTP session is alive until a call fails). */
        boolean alive() {
            return process.map(ProcessHandle::isAlive).orElse(true);
        }

        <T> T block(Mono<T> call) {
            try {
                return call.block(config.httpTimeout().plus(config.httpConnectTimeout()));
            } catch (IllegalStateException e) {
                if (String.valueOf(e.getMessage()).startsWith("Timeout on blocking read")) {
                    throw new BlockTimeout(e);
                }
                throw e;
            }
        }

        boolean lists(String tool) {
            return tools.contains(tool);
        }

        void refresh() {
            tools = names(block(client.listTools()).tools());
        }

        private static Set<String> names(List<McpSchema.Tool> list) {
            return list.stream().map(McpSchema.Tool::name).collect(Collectors.toUnmodifiableSet());
        }

        void close() {
            try {
                client.closeGracefully().block(Duration.ofSeconds(2));
            } catch (RuntimeException e) {
                LOG.debug("Closing an MCP session failed: {}", e.toString());
            }
            process.ifPresent(handle -> {
                handle.destroyForcibly();
                OperatorProcess.release(handle);
            });
        }
    }

    /**
     * The HTTP client's proxy selector: checks the host with the guard before each connection.
     * For plain {@code http} it names the checked address as an HTTP proxy, so the connection
     * goes to that very address and the request carries the URL in absolute form, which every
     * HTTP/1.1 server accepts; for {@code https}, no proxy (TLS verifies the name).
     */
    private final class CheckedAddress extends ProxySelector {
        @Override
        public List<Proxy> select(URI uri) {
            List<InetAddress> addresses = guard.check(uri.getHost());
            if (!"http".equalsIgnoreCase(uri.getScheme())) {
                return List.of(Proxy.NO_PROXY);
            }
            return List.of(new Proxy(Proxy.Type.HTTP, new InetSocketAddress(addresses.getFirst(), Egress.port(uri))));
        }

        @Override
        public void connectFailed(URI uri, SocketAddress address, IOException e) {
            // the call fails with the error
        }
    }

    @Override
    public void close() {
        sessions.forEach(this::drop);
    }
}
