package io.somastack.policy.internal;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.keyword.AnnotationKeyword;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.policy.Sbom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.cyclonedx.model.Bom;
import org.cyclonedx.model.Component;
import org.cyclonedx.model.Hash;
import org.cyclonedx.model.License;
import org.cyclonedx.model.LicenseChoice;
import tools.jackson.databind.JsonNode;

/**
 * Reads {@code sbom.cdx.json}: checks it against the official CycloneDX JSON schema of its
 * spec version (the schema files shipped inside cyclonedx-core-java, validated with the
 * networknt validator SomaStack already uses, because the library's own validator needs an
 * older networknt), then reads it into cyclonedx-core-java's model. Only 1.5 and 1.6 are accepted.
 * Thread-safe.
 */
public final class SbomReader {
    /**
     * Jackson 2, as cyclonedx-core-java's model is annotated for it. Its {@code JsonParser}
     * is not used: loading it pulls in its networknt 1.x validator, which is not on the path.
     */
    private static final com.fasterxml.jackson.databind.ObjectMapper CYCLONEDX = new com.fasterxml.jackson.databind.ObjectMapper()
            .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    /**
     * Draft 7 with the two annotations the CycloneDX schemas use beyond it ({@code meta:enum},
     * which describes each enum value, and {@code deprecated}). The validator treats a keyword it
     * does not know as an annotation too, but warns about each at every start.
     */
    static final Dialect DIALECT = Dialect.builder(Dialects.getDraft7())
            .keyword(new AnnotationKeyword("meta:enum"))
            .keyword(new AnnotationKeyword("deprecated"))
            .build();
    private final Map<String, Schema> schemas = new LinkedHashMap<>();

    public SbomReader() {
        this(DIALECT);
    }

    /** With {@code dialect} (a test makes unknown keywords an error). */
    SbomReader(Dialect dialect) {
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(dialect,
                builder -> builder.schemaIdResolvers(resolvers -> resolvers.mapPrefix("http://cyclonedx.org/schema/", "classpath:")));
        for (String version : List.of("1.5", "1.6")) {
            schemas.put(version, registry.getSchema(SchemaLocation.of("http://cyclonedx.org/schema/bom-" + version + ".schema.json")));
        }
    }

    public Sbom read(byte[] json) {
        JsonNode tree;
        try {
            tree = Json.mapper().readTree(json);
        } catch (RuntimeException e) {
            throw SafeZip.refused("sbom.cdx.json is not JSON: " + e.getMessage());
        }
        if (tree == null || !tree.isObject() || !"CycloneDX".equals(tree.path("bomFormat").asString(""))) {
            throw SafeZip.refused("sbom.cdx.json is not a CycloneDX JSON document (bomFormat must be 'CycloneDX')");
        }
        StorableText.find(tree).ifPresent(problem -> {
            throw new SomaException(ErrorCode.SBOM_INVALID, "Capsule bundle refused: sbom.cdx.json: " + problem, Map.of("reason", "unstorable text"));
        });
        String specVersion = tree.path("specVersion").asString("");
        Schema schema = schemas.get(specVersion);
        if (schema == null) {
            throw SafeZip.refused("sbom.cdx.json has CycloneDX specVersion '%s'; 1.5 or 1.6 is required".formatted(specVersion));
        }
        List<String> problems = new ArrayList<>();
        for (Error error : schema.validate(tree)) {
            problems.add("%s: %s".formatted(error.getInstanceLocation(), error.getMessage()));
            if (problems.size() == 20) {
                break;
            }
        }
        if (!problems.isEmpty()) {
            throw new SomaException(ErrorCode.SBOM_INVALID, "Capsule bundle refused: sbom.cdx.json is not valid CycloneDX %s: %s"
                    .formatted(specVersion, String.join("; ", problems)), Map.of("reason", "invalid sbom", "errors", problems));
        }
        Bom bom;
        try {
            bom = CYCLONEDX.readValue(json, Bom.class);
        } catch (java.io.IOException | RuntimeException e) {
            throw SafeZip.refused("sbom.cdx.json cannot be parsed as CycloneDX: " + e.getMessage());
        }
        List<Sbom.Component> components = new ArrayList<>();
        flatten(bom.getComponents(), components);
        return new Sbom(specVersion, Optional.ofNullable(bom.getSerialNumber()), components);
    }

    private static void flatten(List<Component> components, List<Sbom.Component> into) {
        if (components == null) {
            return;
        }
        for (Component component : components) {
            into.add(new Sbom.Component(component.getName(), Optional.ofNullable(component.getGroup()),
                    Optional.ofNullable(component.getVersion()), Optional.ofNullable(component.getPurl()),
                    component.getType() == null ? "library" : component.getType().name().toLowerCase(Locale.ROOT).replace('_', '-'),
                    licenses(component.getLicenses()), hashes(component.getHashes())));
            flatten(component.getComponents(), into);
        }
    }

    private static List<String> licenses(LicenseChoice choice) {
        List<String> result = new ArrayList<>();
        if (choice == null) {
            return result;
        }
        if (choice.getLicenses() != null) {
            for (License license : choice.getLicenses()) {
                if (license.getId() != null) {
                    result.add(license.getId());
                } else if (license.getName() != null) {
                    result.add(license.getName());
                }
            }
        }
        if (choice.getExpression() != null && choice.getExpression().getValue() != null) {
            result.add(choice.getExpression().getValue());
        }
        return result;
    }

    private static Map<String, String> hashes(List<Hash> hashes) {
        Map<String, String> result = new LinkedHashMap<>();
        if (hashes != null) {
            hashes.forEach(hash -> result.put(hash.getAlgorithm(), hash.getValue().toLowerCase(Locale.ROOT)));
        }
        return result;
    }
}
