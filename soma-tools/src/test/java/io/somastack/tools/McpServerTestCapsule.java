package io.somastack.tools;

import java.util.List;
import java.util.Map;

/** The capsule the /mcp tests install: a WebAssembly tool, an MCP tool with progress and an MCP tool that fails. */
final class McpServerTestCapsule {
    static final String CITY = "{type: object, properties: {city: {type: string}}, required: [city]}";
    static final String TEXT = "{type: object, properties: {text: {type: string}}, required: [text], additionalProperties: false}";

    private McpServerTestCapsule() {
    }

    static byte[] bundle(String name, McpToolServer upstream) {
        return TestTools.bundle(name, "1.0.0", List.of("127.0.0.1:" + upstream.port()), List.of(
                TestTools.Tool.wasm("transform", "transform", TEXT),
                TestTools.Tool.remote("forecast", "mcp", upstream.url(), CITY),
                TestTools.Tool.remote("fails", "mcp", upstream.url(), "{type: object}")), Map.of("transform", TestTools.wasm("transform")));
    }
}
