package io.somastack.policy.internal;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.policy.CapsuleManifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Reads {@code capsule.yaml}: YAML to a tree, the tree checked against
 * {@code capsule.schema.json} (every problem listed in one answer), each tool's
 * {@code input_schema} compiled as a JSON Schema, then the typed {@link CapsuleManifest}.
 * Thread-safe.
 */
public final class ManifestReader {
    private static final YAMLMapper YAML = new YAMLMapper();
    private final SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private final Schema schema;

    public ManifestReader() {
        try (InputStream in = ManifestReader.class.getResourceAsStream("/io/somastack/policy/capsule.schema.json")) {
            schema = registry.getSchema(Json.mapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public CapsuleManifest read(byte[] yaml) {
        JsonNode tree;
        try {
            tree = YAML.readTree(yaml);
        } catch (JacksonException e) {
            throw SafeZip.refused("capsule.yaml is not valid YAML: " + e.getOriginalMessage());
        }
        if (tree == null || !tree.isObject()) {
            throw SafeZip.refused("capsule.yaml must be a mapping of fields");
        }
        StorableText.find(tree).ifPresent(problem -> {
            throw new SomaException(ErrorCode.MANIFEST_INVALID, "Capsule bundle refused: capsule.yaml: " + problem,
                    Map.of("reason", "unstorable text"));
        });
        List<String> problems = new ArrayList<>();
        for (Error error : schema.validate(tree)) {
            problems.add("%s: %s".formatted(error.getInstanceLocation(), error.getMessage()));
        }
        if (!problems.isEmpty()) {
            throw new SomaException(ErrorCode.MANIFEST_INVALID, "Capsule bundle refused: capsule.yaml does not match the manifest schema: "
                    + String.join("; ", problems), Map.of("reason", "manifest schema", "errors", problems));
        }
        for (JsonNode tool : tree.path("tools")) {
            try {
                registry.getSchema(tool.get("input_schema"));
            } catch (RuntimeException e) {
                throw new SomaException(ErrorCode.INVALID_TOOL_SCHEMA, "Capsule bundle refused: tool '%s' has an input_schema that is not a JSON Schema: %s"
                        .formatted(tool.get("name").asString(), e.getMessage()));
            }
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> document = Json.mapper().convertValue(tree, Map.class);
        JsonNode permissions = tree.get("permissions");
        List<String> egress = new ArrayList<>();
        permissions.path("egress").forEach(host -> egress.add(host.asString()));
        List<CapsuleManifest.Tool> tools = new ArrayList<>();
        tree.path("tools").forEach(tool -> tools.add(new CapsuleManifest.Tool(tool.get("name").asString(),
                tool.get("executor").get("kind").asString(), optional(tool.get("executor"), "module"))));
        return new CapsuleManifest(tree.get("name").asString(), tree.get("version").asString(), tree.get("publisher").asString(),
                tree.get("description").asString(), tools, egress, new BigDecimal(permissions.get("max_budget_per_run_usd").asString()),
                optional(tree, "price_sku"), document);
    }

    private static java.util.Optional<String> optional(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? java.util.Optional.empty() : java.util.Optional.of(value.asString());
    }
}
