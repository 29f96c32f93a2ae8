package io.somastack.tools;

import io.modelcontextprotocol.json.jackson3.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import java.net.InetAddress;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import tools.jackson.databind.json.JsonMapper;

/**
 * A real MCP tool server on loopback, built from the MCP Java SDK's own server classes (its
 * Streamable HTTP servlet on Jetty ee10): {@code forecast} reports three progress steps and
 * answers structured content, {@code fails} answers an error result, {@code hang} never answers
 * in time, {@code retired} is there until a test removes it ({@link #removeTool}). Endpoint {@code /mcp}.
 */
public final class McpToolServer implements AutoCloseable {
    private final Server jetty;
    /** The prefix of this server's thread names, so a test can tell its threads from the broker's. */
    static final String THREAD_NAME = "mcp-tool-server";
    private final McpSyncServer server;
    private volatile String lastAuthorization;

    public McpToolServer() {
        JacksonMcpJsonMapper mapper = new JacksonMcpJsonMapper(JsonMapper.builder().build());
        HttpServletStreamableServerTransportProvider transport = HttpServletStreamableServerTransportProvider.builder().jsonMapper(mapper)
                .mcpEndpoint("/mcp").build();
        String object = "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}";
        // Handlers run on Jetty's request threads (up to 200), not the SDK's bounded scheduler
        // (10 per core), so fifty calls of the hanging tool do not starve the other tools.
        server = McpServer.sync(transport).serverInfo("weather-mcp", "1.0.0").jsonMapper(mapper).immediateExecution(true)
                .capabilities(McpSchema.ServerCapabilities.builder().tools(true).build())
                .tools(McpServerFeatures.SyncToolSpecification.builder()
                                .tool(McpSchema.Tool.builder("forecast").description("A forecast, in three steps").inputSchema(mapper, object).build())
                                .callHandler((exchange, request) -> {
                                    Object token = request.meta() == null ? null : request.meta().get("progressToken");
                                    for (int step = 1; step <= 3 && token != null; step++) {
                                        exchange.progressNotification(new McpSchema.ProgressNotification(token, step, 3.0, "step " + step));
                                    }
                                    String city = String.valueOf(request.arguments().getOrDefault("city", "nowhere"));
                                    return McpSchema.CallToolResult.builder().structuredContent(Map.of("city", city, "forecast", "sunny"))
                                            .addTextContent("sunny in " + city).build();
                                }).build(),
                        McpServerFeatures.SyncToolSpecification.builder()
                                .tool(McpSchema.Tool.builder("fails").description("Always an error").inputSchema(mapper, object).build())
                                .callHandler((exchange, request) -> McpSchema.CallToolResult.builder().isError(true)
                                        .addTextContent("the upstream broke").build()).build(),
                        McpServerFeatures.SyncToolSpecification.builder()
                                .tool(McpSchema.Tool.builder("hang").description("Never answers in time").inputSchema(mapper, object).build())
                                .callHandler((exchange, request) -> {
                                    try {
                                        Thread.sleep(30_000);
                                    } catch (InterruptedException e) {
                                        Thread.currentThread().interrupt();
                                    }
                                    return McpSchema.CallToolResult.builder().addTextContent("late").build();
                                }).build(),
                        McpServerFeatures.SyncToolSpecification.builder()
                                .tool(McpSchema.Tool.builder("retired").description("Removed by a test with removeTool").inputSchema(mapper, object).build())
                                .callHandler((exchange, request) -> McpSchema.CallToolResult.builder().addTextContent("still here").build()).build())
                .build();
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName(THREAD_NAME);
        jetty = new Server(threads);
        ServerConnector connector = new ServerConnector(jetty);
        connector.setHost(InetAddress.getLoopbackAddress().getHostAddress());
        connector.setPort(0);
        jetty.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        // Records the Authorization header each request arrives with, for the tool secrets tests.
        context.addFilter(new org.eclipse.jetty.ee10.servlet.FilterHolder((jakarta.servlet.Filter) (request, response, chain) -> {
            String authorization = ((jakarta.servlet.http.HttpServletRequest) request).getHeader("Authorization");
            if (authorization != null) {
                lastAuthorization = authorization;
            }
            chain.doFilter(request, response);
        }), "/*", java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST));
        ServletHolder holder = new ServletHolder(transport);
        holder.setAsyncSupported(true);
        context.addServlet(holder, "/mcp");
        jetty.setHandler(context);
        try {
            jetty.start();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot start the MCP tool server", e);
        }
    }

    /** Takes {@code tool} off this server's tools/list (the SDK tells open sessions it changed). */
    public void removeTool(String tool) {
        server.removeTool(tool);
    }

    /** The {@code Authorization} header of the last request that had one (null if none did). */
    public String lastAuthorization() {
        return lastAuthorization;
    }

    public int port() {
        return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
    }

    /** {@code http://127.0.0.1:<port>/mcp}. */
    public String url() {
        return "http://127.0.0.1:" + port() + "/mcp";
    }

    @Override
    public void close() {
        server.close();
        try {
            jetty.stop();
        } catch (Exception ignored) {
            // stopping
        }
    }
}
