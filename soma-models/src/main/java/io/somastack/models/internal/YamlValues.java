package io.somastack.models.internal;

import io.somastack.kernel.Settings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * Typed reads from the structured YAML under {@code models}, reporting bad values the way
 * {@link Settings} does for flat keys: as problems, falling back to the default.
 */
final class YamlValues {
    private final Settings settings;

    YamlValues(Settings settings) {
        this.settings = settings;
    }

    void unknownKeys(String where, JsonNode node, Set<String> known) {
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!known.contains(field.getKey())) {
                settings.problem("%s: unknown key '%s' (known: %s)".formatted(where, field.getKey(), String.join(", ", known.stream().sorted().toList())));
            }
        }
    }

    Optional<String> text(JsonNode node, String key) {
        JsonNode value = node == null ? null : node.get(key);
        if (value == null || value.isNull() || !value.isValueNode()) {
            return Optional.empty();
        }
        return Optional.of(value.asString().trim()).filter(text -> !text.isEmpty());
    }

    int integer(JsonNode node, String key, String where, int defaultValue, int min, int max) {
        Optional<String> text = text(node, key);
        if (text.isEmpty()) {
            return defaultValue;
        }
        try {
            int value = Integer.parseInt(text.get());
            if (value >= min && value <= max) {
                return value;
            }
            settings.problem("%s.%s=%d is out of range [%d, %d]".formatted(where, key, value, min, max));
        } catch (NumberFormatException e) {
            settings.problem("%s.%s='%s' is not an integer".formatted(where, key, text.get()));
        }
        return defaultValue;
    }

    Duration duration(JsonNode node, String key, String where, Duration defaultValue) {
        Optional<String> text = text(node, key);
        if (text.isEmpty()) {
            return defaultValue;
        }
        try {
            String value = text.get().toLowerCase(Locale.ROOT);
            if (value.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
            }
            return switch (value.charAt(value.length() - 1)) {
                case 's' -> Duration.ofSeconds(Long.parseLong(value.substring(0, value.length() - 1)));
                case 'm' -> Duration.ofMinutes(Long.parseLong(value.substring(0, value.length() - 1)));
                case 'h' -> Duration.ofHours(Long.parseLong(value.substring(0, value.length() - 1)));
                default -> Duration.parse(text.get());
            };
        } catch (RuntimeException e) {
            settings.problem("%s.%s='%s' is not a duration (use 500ms, 30s, 5m, 1h)".formatted(where, key, text.get()));
            return defaultValue;
        }
    }

    List<String> textList(JsonNode node, String key, String where) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return List.of();
        }
        if (!value.isArray()) {
            settings.problem("%s.%s must be a list of model ids".formatted(where, key));
            return List.of();
        }
        List<String> result = new ArrayList<>();
        for (JsonNode element : value.values()) {
            if (element.isValueNode() && !element.asString().isBlank()) {
                result.add(element.asString().trim());
            } else {
                settings.problem("%s.%s must contain model ids".formatted(where, key));
            }
        }
        return result;
    }
}
