package io.somastack.models.internal;

import io.somastack.kernel.Settings;
import io.somastack.models.ModelsConfig.AliasTarget;
import io.somastack.models.ProviderConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * Reads {@code models.aliases}: alias to a target or a list of targets, each either
 * {@code "provider/upstream-model"} (split at the first slash, so upstream names may contain
 * slashes) or {@code {provider, model}}. An explicit alias replaces an implicit one of the
 * same id.
 */
final class AliasReader {
    private final Settings settings;
    private final List<ProviderConfig> providers;

    AliasReader(Settings settings, List<ProviderConfig> providers) {
        this.settings = settings;
        this.providers = providers;
    }

    void read(JsonNode node, Map<String, List<AliasTarget>> aliases) {
        if (node == null || node.isNull()) {
            return;
        }
        if (!node.isObject()) {
            settings.problem("models.aliases must be a map of model id to targets");
            return;
        }
        for (Map.Entry<String, JsonNode> alias : node.properties()) {
            String where = "models.aliases." + alias.getKey();
            JsonNode value = alias.getValue();
            List<JsonNode> entries = new ArrayList<>();
            if (value.isArray()) {
                value.values().forEach(entries::add);
            } else {
                entries.add(value);
            }
            List<AliasTarget> targets = new ArrayList<>();
            for (int index = 0; index < entries.size(); index++) {
                target("%s[%d]".formatted(where, index), entries.get(index)).ifPresent(targets::add);
            }
            if (entries.isEmpty()) {
                settings.problem(where + " has no target");
            } else if (targets.size() == entries.size()) {
                aliases.put(alias.getKey(), targets);
            }
        }
    }

    private Optional<AliasTarget> target(String where, JsonNode entry) {
        String provider;
        String model;
        if (entry.isString()) {
            String text = entry.stringValue().trim();
            int slash = text.indexOf('/');
            if (slash <= 0 || slash == text.length() - 1) {
                settings.problem("%s: '%s' is not provider/upstream-model".formatted(where, text));
                return Optional.empty();
            }
            provider = text.substring(0, slash);
            model = text.substring(slash + 1);
        } else if (entry.isObject() && entry.path("provider").isString() && entry.path("model").isString()
                && entry.size() == 2) {
            provider = entry.get("provider").stringValue();
            model = entry.get("model").stringValue();
        } else {
            settings.problem(where + " must be \"provider/upstream-model\" or {provider, model}");
            return Optional.empty();
        }
        if (providers.stream().noneMatch(candidate -> candidate.name().equals(provider))) {
            settings.problem("%s: unknown provider '%s' (configured: %s)".formatted(where, provider,
                    String.join(", ", providers.stream().map(ProviderConfig::name).toList())));
            return Optional.empty();
        }
        return Optional.of(new AliasTarget(provider, model));
    }
}
