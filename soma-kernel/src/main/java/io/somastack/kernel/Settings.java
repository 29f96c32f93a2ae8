package io.somastack.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Raw configuration: dotted keys ({@code gateway.port}) from an optional YAML file, overridden
 * by environment variables ({@code SOMA_GATEWAY_PORT}). Capability config records read their
 * keys through the typed getters, which collect every problem instead of failing at the
 * first; {@link #validate()} then fails start-up once, listing all problems and every key
 * nobody read. Not thread-safe: used during start-up only.
 */
public final class Settings {
    private final Map<String, String> values;
    private final Map<String, JsonNode> structured;
    private final Set<String> read = new LinkedHashSet<>();
    private final List<String> problems = new ArrayList<>();

    private Settings(Map<String, String> values, Map<String, JsonNode> structured) {
        this.values = values;
        this.structured = structured;
    }

    /** Settings from {@code SOMA_*} environment variables and, if given, a YAML file. */
    public static Settings load(Map<String, String> environment, Optional<Path> yamlFile) {
        Map<String, String> values = new TreeMap<>();
        Map<String, JsonNode> structured = new TreeMap<>();
        if (yamlFile.isPresent()) {
            try (InputStream in = Files.newInputStream(yamlFile.get())) {
                JsonNode root = new YAMLMapper().readTree(in);
                if (root != null && root.isObject()) {
                    flatten("", root, values, structured);
                }
            } catch (IOException | RuntimeException e) {
                throw new SomaException(ErrorCode.INVALID_REQUEST,
                        "Cannot read config file %s: %s".formatted(yamlFile.get(), e.getMessage()));
            }
        }
        environment.forEach((name, value) -> {
            if (name.startsWith("SOMA_") && !IGNORED_ENVIRONMENT.contains(name)) {
                values.put(name.substring(5).toLowerCase(Locale.ROOT).replace("__", "-").replace('_', '.'), value);
            }
        });
        return new Settings(values, structured);
    }

    public static Settings of(Map<String, String> values) {
        return new Settings(new TreeMap<>(values), new TreeMap<>());
    }

    /** Variables named SOMA_* that are read elsewhere (launcher, tests), not config keys. */
    private static final Set<String> IGNORED_ENVIRONMENT = Set.of("SOMA_TEST_MODEL", "SOMA_CONFIG", "SOMA_LOG_FORMAT", "SOMA_JAVA_OPTS");

    private static void flatten(String prefix, JsonNode node, Map<String, String> values, Map<String, JsonNode> structured) {
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            String key = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
            JsonNode value = field.getValue();
            if (value.isObject() && !key.startsWith("models.") && !key.equals("models")) {
                flatten(key, value, values, structured);
            } else if (value.isValueNode()) {
                values.put(key, value.asString());
            } else {
                structured.put(key, value);
            }
        }
    }

    /** A structured (list or map) YAML value, such as the model provider list. */
    public Optional<JsonNode> structured(String key) {
        read.add(key);
        return Optional.ofNullable(structured.get(key));
    }

    public Optional<String> string(String key) {
        read.add(key);
        return Optional.ofNullable(values.get(key)).map(String::trim).filter(value -> !value.isEmpty());
    }

    public String string(String key, String defaultValue) {
        return string(key).orElse(defaultValue);
    }

    public int integer(String key, int defaultValue, int min, int max) {
        Optional<String> text = string(key);
        if (text.isEmpty()) {
            return defaultValue;
        }
        try {
            int value = Integer.parseInt(text.get());
            if (value < min || value > max) {
                problems.add("%s=%d is out of range [%d, %d]".formatted(key, value, min, max));
                return defaultValue;
            }
            return value;
        } catch (NumberFormatException e) {
            problems.add("%s='%s' is not an integer".formatted(key, text.get()));
            return defaultValue;
        }
    }

    public long longValue(String key, long defaultValue, long min, long max) {
        Optional<String> text = string(key);
        if (text.isEmpty()) {
            return defaultValue;
        }
        try {
            long value = Long.parseLong(text.get());
            if (value < min || value > max) {
                problems.add("%s=%d is out of range [%d, %d]".formatted(key, value, min, max));
                return defaultValue;
            }
            return value;
        } catch (NumberFormatException e) {
            problems.add("%s='%s' is not an integer".formatted(key, text.get()));
            return defaultValue;
        }
    }

    public boolean bool(String key, boolean defaultValue) {
        Optional<String> text = string(key);
        if (text.isEmpty()) {
            return defaultValue;
        }
        return switch (text.get().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> {
                problems.add("%s='%s' is not a boolean".formatted(key, text.get()));
                yield defaultValue;
            }
        };
    }

    public Duration duration(String key, Duration defaultValue) {
        Optional<String> text = string(key);
        if (text.isEmpty()) {
            return defaultValue;
        }
        try {
            String value = text.get().toLowerCase(Locale.ROOT);
            if (value.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
            }
            if (value.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(value.substring(0, value.length() - 1)));
            }
            if (value.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(value.substring(0, value.length() - 1)));
            }
            if (value.endsWith("h")) {
                return Duration.ofHours(Long.parseLong(value.substring(0, value.length() - 1)));
            }
            return Duration.parse(text.get());
        } catch (RuntimeException e) {
            problems.add("%s='%s' is not a duration (use 500ms, 30s, 5m, 1h)".formatted(key, text.get()));
            return defaultValue;
        }
    }

    public Optional<Money> money(String key) {
        Optional<String> text = string(key);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Money(new BigDecimal(text.get())));
        } catch (RuntimeException e) {
            problems.add("%s='%s' is not a decimal amount".formatted(key, text.get()));
            return Optional.empty();
        }
    }

    /** Keys under {@code prefix.} that were set (for maps like {@code regions.eu.endpoint}). */
    public Map<String, String> withPrefix(String prefix) {
        Map<String, String> result = new LinkedHashMap<>();
        values.forEach((key, value) -> {
            if (key.startsWith(prefix + ".")) {
                read.add(key);
                result.put(key.substring(prefix.length() + 1), value);
            }
        });
        return result;
    }

    public void problem(String problem) {
        problems.add(problem);
    }

    /** Fails with every collected problem and every key that no config record read. */
    public void validate() {
        List<String> all = new ArrayList<>(problems);
        for (String key : values.keySet()) {
            if (!read.contains(key)) {
                all.add("unknown config key '%s'".formatted(key));
            }
        }
        for (String key : structured.keySet()) {
            if (!read.contains(key)) {
                all.add("unknown config key '%s'".formatted(key));
            }
        }
        if (!all.isEmpty()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "Invalid configuration:\n  - " + String.join("\n  - ", all));
        }
    }
}
