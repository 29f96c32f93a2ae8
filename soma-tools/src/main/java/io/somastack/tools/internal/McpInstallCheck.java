package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The install (and update) check of a capsule's MCP tools, registered with the marketplace's
 * {@code Installs.addManifestCheck}: each MCP server the manifest names is asked for its
 * {@code tools/list} through the same declared-egress rule, SSRF guard and session as a call,
 * and every declared tool the server does not list, every server that cannot be reached and
 * every host outside {@code permissions.egress} is a problem, all listed. Servers are asked
 * at once, one virtual thread each. Thread-safe.
 */
public final class McpInstallCheck {
    private final McpExecutor mcp;
    private final Headers headers;

    /** The headers a tenant's settings give a capsule's tool (secrets opened), as {@code ToolSettings.headers}. */
    @FunctionalInterface
    public interface Headers {
        Map<String, String> of(TenantId tenant, String capsule, String tool);
    }

    public McpInstallCheck(McpExecutor mcp, Headers headers) {
        this.mcp = requireNonNull(mcp, "mcp is null");
        this.headers = requireNonNull(headers, "headers is null");
    }

    /** One server as a tool reaches it: its URL and the tenant's headers for that tool, or an operator's stdio server. */
    private record Server(Optional<URI> url, Optional<String> stdio, Map<String, String> headers) {
        @Override
        public String toString() {
            return url.map(value -> "server " + value).orElseGet(() -> "stdio server '" + stdio.orElseThrow() + "'");
        }
    }

    /** The problems of the MCP tools of {@code manifest} for {@code tenant}; empty when each server lists each tool. */
    public List<String> problems(TenantId tenant, String capsule, Map<String, Object> manifest) {
        List<String> problems = new ArrayList<>();
        Map<Server, List<String>> byServer = new LinkedHashMap<>();
        List<String> egress = egress(manifest);
        if (!(manifest.get("tools") instanceof List<?> tools)) {
            return problems;
        }
        for (Object entry : tools) {
            if (!(entry instanceof Map<?, ?> tool) || !(tool.get("executor") instanceof Map<?, ?> executor) || !"mcp".equals(executor.get("kind"))) {
                continue;
            }
            String name = String.valueOf(tool.get("name"));
            if (executor.get("server") instanceof String stdio) {
                // An operator's server on this node: no egress, no headers; unknown names are refused by the listing.
                byServer.computeIfAbsent(new Server(Optional.empty(), Optional.of(stdio), Map.of()), key -> new ArrayList<>()).add(name);
                continue;
            }
            if (!(executor.get("url") instanceof String url)) {
                continue;
            }
            URI uri;
            try {
                uri = URI.create(url);
            } catch (IllegalArgumentException e) {
                problems.add("tool '%s': its MCP url %s is not a URL".formatted(name, url));
                continue;
            }
            if (uri.getHost() == null || !Egress.declared(egress, uri)) {
                problems.add("tool '%s': its MCP server %s is not in permissions.egress %s, so it is never contacted".formatted(name,
                        Egress.hostPort(uri), egress));
                continue;
            }
            Map<String, String> sent;
            try {
                sent = headers.of(tenant, capsule, name);
            } catch (SomaException e) {
                problems.add("tool '%s': %s".formatted(name, e.getMessage()));
                continue;
            }
            byServer.computeIfAbsent(new Server(Optional.of(uri), Optional.empty(), sent), key -> new ArrayList<>()).add(name);
        }
        Map<Server, Future<McpExecutor.Listing>> listings = new LinkedHashMap<>();
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            byServer.keySet().forEach(server -> listings.put(server, threads.submit(() -> mcp.list(tenant, server.url(), server.stdio(), server.headers()))));
        }
        byServer.forEach((server, names) -> {
            switch (listing(listings.get(server))) {
                case McpExecutor.Listing.Unreachable unreachable -> problems.add("the MCP %s (tools %s) cannot be reached: %s"
                        .formatted(server, names, unreachable.reason()));
                case McpExecutor.Listing.Listed listed -> names.stream().filter(name -> !listed.tools().contains(name))
                        .forEach(name -> problems.add("tool '%s' is not in the tools/list of the MCP %s (it lists %s)".formatted(name,
                                server, listed.tools().stream().sorted().toList())));
            }
        });
        return problems;
    }

    private static McpExecutor.Listing listing(Future<McpExecutor.Listing> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new McpExecutor.Listing.Unreachable("the check was interrupted");
        } catch (ExecutionException e) {
            return new McpExecutor.Listing.Unreachable(String.valueOf(e.getCause()));
        }
    }

    private static List<String> egress(Map<String, Object> manifest) {
        if (manifest.get("permissions") instanceof Map<?, ?> permissions && permissions.get("egress") instanceof List<?> egress) {
            return egress.stream().map(String::valueOf).toList();
        }
        return List.of();
    }
}
