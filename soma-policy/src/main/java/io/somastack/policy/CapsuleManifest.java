package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A capsule's {@code capsule.yaml}, checked against the manifest schema (see the module
 * README). The typed fields are the ones SomaStack itself acts on; {@link #document()} is the
 * whole manifest, which policies see as the CEL variable {@code capsule}.
 *
 * @param version a semantic version (2.0.0)
 * @param egress the hosts the capsule's tools may reach, possibly {@code *.example.com}
 * @param maxBudgetPerRunUsd the most one run may cost, in US dollars
 * @param document the manifest as plain maps, lists, strings, numbers and booleans
 */
public record CapsuleManifest(String name, String version, String publisher, String description, List<Tool> tools,
        List<String> egress, BigDecimal maxBudgetPerRunUsd, Optional<String> priceSku, Map<String, Object> document) {
    public CapsuleManifest {
        requireNonNull(name, "name is null");
        requireNonNull(version, "version is null");
        requireNonNull(publisher, "publisher is null");
        requireNonNull(description, "description is null");
        tools = List.copyOf(tools);
        egress = List.copyOf(egress);
        requireNonNull(maxBudgetPerRunUsd, "maxBudgetPerRunUsd is null");
        requireNonNull(priceSku, "priceSku is null");
        requireNonNull(document, "document is null");
    }

    /**
     * A tool the capsule declares.
     *
     * @param executor {@code http}, {@code wasm} or {@code mcp}
     * @param module for a WebAssembly tool, its file in the bundle ({@code tools/x.wasm})
     */
    public record Tool(String name, String executor, Optional<String> module) {
        public Tool {
            requireNonNull(name, "name is null");
            requireNonNull(executor, "executor is null");
            requireNonNull(module, "module is null");
        }
    }
}
