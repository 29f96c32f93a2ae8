package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    public McpInstallCheck(McpExecutor mcp) {
        this.mcp = requireNonNull(mcp, "mcp is null");
    }

    /** The problems of the MCP tools of {@code manifest} for {@code tenant}; empty when each server lists each tool. */
    public List<String> problems(TenantId tenant, String capsule, Map<String, Object> manifest) {
        List<String> problems = new ArrayList<>();
        Map<URI, List<String>> byServer = new LinkedHashMap<>();
        List<String> egress = egress(manifest);
        if (!(manifest.get("tools") instanceof List<?> tools)) {
            return problems;
        }
        for (Object entry : tools) {
            if (!(entry instanceof Map<?, ?> tool) || !(tool.get("executor") instanceof Map<?, ?> executor) || !"mcp".equals(executor.get("kind"))
                    || !(executor.get("url") instanceof String url)) {
                continue;
            }
            String name = String.valueOf(tool.get("name"));
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
            byServer.computeIfAbsent(uri, key -> new ArrayList<>()).add(name);
        }
        Map<URI, Future<McpExecutor.Listing>> listings = new LinkedHashMap<>();
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            byServer.keySet().forEach(server -> listings.put(server, threads.submit(() -> mcp.list(tenant, server))));
        }
        byServer.forEach((server, names) -> {
            switch (listing(listings.get(server))) {
                case McpExecutor.Listing.Unreachable unreachable -> problems.add("the MCP server %s (tools %s) cannot be reached: %s"
                        .formatted(server, names, unreachable.reason()));
                case McpExecutor.Listing.Listed listed -> names.stream().filter(name -> !listed.tools().contains(name))
                        .forEach(name -> problems.add("tool '%s' is not in the tools/list of the MCP server %s (it lists %s)".formatted(name,
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
