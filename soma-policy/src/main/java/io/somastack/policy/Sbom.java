package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A capsule's software bill of materials ({@code sbom.cdx.json}, CycloneDX 1.5 or 1.6),
 * validated against the CycloneDX schema and flattened: nested components are listed too.
 * Policies see it as the CEL variable {@code sbom}: {@code spec_version},
 * {@code components} (each {@code name}, {@code group}, {@code version}, {@code purl},
 * {@code type}, {@code licenses}, {@code hashes}) and {@code licenses} (all licence ids and
 * expressions, deduplicated).
 */
public record Sbom(String specVersion, Optional<String> serialNumber, List<Component> components) {
    public Sbom {
        requireNonNull(specVersion, "specVersion is null");
        requireNonNull(serialNumber, "serialNumber is null");
        components = List.copyOf(components);
    }

    /** Every licence id, name or expression of every component, each once. */
    public List<String> licenses() {
        LinkedHashSet<String> all = new LinkedHashSet<>();
        components.forEach(component -> all.addAll(component.licenses()));
        return List.copyOf(all);
    }

    /** The CEL value of {@code sbom}. */
    public Map<String, Object> celValue() {
        List<Object> list = new ArrayList<>();
        for (Component component : components) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("name", component.name());
            map.put("group", component.group().orElse(""));
            map.put("version", component.version().orElse(""));
            map.put("purl", component.purl().orElse(""));
            map.put("type", component.type());
            map.put("licenses", component.licenses());
            map.put("hashes", component.hashes());
            list.add(map);
        }
        return Map.of("spec_version", specVersion, "components", list, "licenses", licenses());
    }

    /**
     * One component.
     *
     * @param type the CycloneDX type in lower case: {@code library}, {@code file}, ...
     * @param licenses SPDX ids, licence names or SPDX expressions as written
     * @param hashes lowercase hex by algorithm as CycloneDX names it ({@code SHA-256})
     */
    public record Component(String name, Optional<String> group, Optional<String> version, Optional<String> purl, String type,
            List<String> licenses, Map<String, String> hashes) {
        public Component {
            requireNonNull(name, "name is null");
            requireNonNull(group, "group is null");
            requireNonNull(version, "version is null");
            requireNonNull(purl, "purl is null");
            requireNonNull(type, "type is null");
            licenses = List.copyOf(licenses);
            hashes = Map.copyOf(hashes);
        }
    }
}
