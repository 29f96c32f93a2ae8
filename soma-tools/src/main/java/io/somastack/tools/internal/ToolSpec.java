package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import com.networknt.schema.Schema;
import java.net.URI;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * One tool as the manifest declares it, with its compiled input schema.
 *
 * @param kind {@code wasm}, {@code http} or {@code mcp}
 * @param module for {@code wasm}, the module's path in the bundle
 * @param url for {@code http} and {@code mcp}, the endpoint
 * @param server for {@code mcp} instead of {@code url}, the name of an operator-declared stdio server
 */
public record ToolSpec(String name, String description, JsonNode inputSchema, Schema schema, String kind, Optional<String> module,
        Optional<URI> url, Optional<String> server) {
    public ToolSpec {
        requireNonNull(name, "name is null");
        requireNonNull(description, "description is null");
        requireNonNull(inputSchema, "inputSchema is null");
        requireNonNull(schema, "schema is null");
        requireNonNull(kind, "kind is null");
        requireNonNull(module, "module is null");
        requireNonNull(url, "url is null");
        requireNonNull(server, "server is null");
    }

    /** The host the tool reaches, for policy and egress ({@code host} or {@code host:port} as the URL spells it); empty for wasm. */
    public Optional<String> host() {
        return url.map(URI::getHost);
    }
}
