package io.somastack.models.internal;

import io.somastack.kernel.Settings;
import io.somastack.models.ModelsConfig;
import io.somastack.models.ModelsConfig.AliasTarget;
import io.somastack.models.ProviderConfig;
import io.somastack.models.ProviderKind;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * Reads {@link ModelsConfig} from the structured YAML key {@code models} and the environment
 * shortcuts. Every bad value becomes a {@link Settings#problem(String)}; the reader goes on,
 * so start-up lists all problems at once.
 */
public final class ModelsConfigReader {
    private static final Set<String> MODELS_KEYS = Set.of("providers", "aliases", "circuit_breaker");
    private static final Set<String> PROVIDER_KEYS = Set.of("name", "kind", "base_url", "api_key", "api_key_env",
            "model_path", "context_size", "threads", "timeout", "models", "chat_template");
    private static final Set<String> CIRCUIT_KEYS = Set.of("failure_rate_threshold", "sliding_window", "minimum_calls",
            "open_duration", "half_open_calls");
    static final String OPENAI_DEFAULT_URL = "https://api.openai.com/v1";
    static final String ANTHROPIC_DEFAULT_URL = "https://api.anthropic.com";

    private final Settings settings;
    private final Map<String, String> environment;
    private final YamlValues yaml;
    private final List<ProviderConfig> providers = new ArrayList<>();

    public ModelsConfigReader(Settings settings, Map<String, String> environment) {
        this.settings = settings;
        this.environment = environment;
        this.yaml = new YamlValues(settings);
    }

    public ModelsConfig read() {
        JsonNode models = settings.structured("models").orElse(null);
        if (models != null && !models.isObject()) {
            settings.problem("models must be a map with providers, aliases and circuit_breaker");
            models = null;
        }
        if (models != null) {
            yaml.unknownKeys("models", models, MODELS_KEYS);
            readYamlProviders(models.get("providers"));
        }
        readEnvironmentShortcuts();
        Map<String, List<AliasTarget>> aliases = implicitAliases();
        if (models != null) {
            new AliasReader(settings, providers).read(models.get("aliases"), aliases);
        }
        ModelsConfig.CircuitBreaker circuit = readCircuit(models == null ? null : models.get("circuit_breaker"));
        return new ModelsConfig(providers, aliases, circuit);
    }

    private void readYamlProviders(JsonNode list) {
        if (list == null) {
            return;
        }
        if (!list.isArray()) {
            settings.problem("models.providers must be a list");
            return;
        }
        int index = 0;
        for (JsonNode entry : list.values()) {
            String where = "models.providers[%d]".formatted(index++);
            if (!entry.isObject()) {
                settings.problem(where + " must be a map");
                continue;
            }
            yaml.unknownKeys(where, entry, PROVIDER_KEYS);
            Optional<String> name = yaml.text(entry, "name");
            Optional<ProviderKind> kind = yaml.text(entry, "kind").flatMap(ProviderKind::fromConfigName);
            if (name.isEmpty() || kind.isEmpty()) {
                settings.problem(where + " needs a name and a kind (openai, anthropic or local)");
                continue;
            }
            String key = yaml.text(entry, "api_key").orElse(null);
            Optional<String> keyVariable = yaml.text(entry, "api_key_env");
            if (keyVariable.isPresent()) {
                key = environment.get(keyVariable.get());
                if (key == null || key.isBlank()) {
                    settings.problem("%s.api_key_env: environment variable %s is not set".formatted(where, keyVariable.get()));
                }
            }
            add(where, name.get(), kind.get(), yaml.text(entry, "base_url"), key, yaml.text(entry, "model_path"),
                    yaml.integer(entry, "context_size", where, ProviderConfig.DEFAULT_CONTEXT_SIZE, 64, 1 << 20),
                    yaml.integer(entry, "threads", where, defaultThreads(), 1, 256),
                    yaml.duration(entry, "timeout", where, ProviderConfig.DEFAULT_TIMEOUT),
                    yaml.textList(entry, "models", where), yaml.text(entry, "chat_template"));
        }
    }

    private void readEnvironmentShortcuts() {
        Optional<String> localModel = settings.string("local.model");
        int contextSize = settings.integer("local.context.size", ProviderConfig.DEFAULT_CONTEXT_SIZE, 64, 1 << 20);
        int threads = settings.integer("local.threads", defaultThreads(), 1, 256);
        Duration localTimeout = settings.duration("local.timeout", ProviderConfig.DEFAULT_TIMEOUT);
        if (localModel.isPresent()) {
            add("local.model", "local", ProviderKind.LOCAL, Optional.empty(), null, localModel, contextSize, threads,
                    localTimeout, List.of(), settings.string("local.chat.template"));
        }
        Optional<String> openAiUrl = settings.string("openai.base.url");
        Optional<String> openAiKey = settings.string("openai.api.key");
        List<String> openAiModels = commaList(settings.string("openai.models"));
        Duration openAiTimeout = settings.duration("openai.timeout", ProviderConfig.DEFAULT_TIMEOUT);
        if (openAiUrl.isPresent() || openAiKey.isPresent()) {
            add("openai.base.url", "openai", ProviderKind.OPENAI, openAiUrl,
                    openAiKey.orElse(null), Optional.empty(), 0, 0, openAiTimeout, openAiModels, Optional.empty());
        }
        Optional<String> anthropicUrl = settings.string("anthropic.base.url");
        Optional<String> anthropicKey = settings.string("anthropic.api.key");
        List<String> anthropicModels = commaList(settings.string("anthropic.models"));
        Duration anthropicTimeout = settings.duration("anthropic.timeout", ProviderConfig.DEFAULT_TIMEOUT);
        if (anthropicUrl.isPresent() || anthropicKey.isPresent()) {
            add("anthropic.api.key", "anthropic", ProviderKind.ANTHROPIC, anthropicUrl, anthropicKey.orElse(null),
                    Optional.empty(), 0, 0, anthropicTimeout, anthropicModels, Optional.empty());
        }
    }

    private void add(String where, String name, ProviderKind kind, Optional<String> baseUrl, String apiKey,
                     Optional<String> modelPath, int contextSize, int threads, Duration timeout, List<String> models,
                     Optional<String> chatTemplate) {
        if (providers.stream().anyMatch(provider -> provider.name().equals(name))) {
            settings.problem("%s: provider name '%s' is defined twice".formatted(where, name));
            return;
        }
        switch (kind) {
            case LOCAL -> {
                if (modelPath.isEmpty()) {
                    settings.problem(where + ": a local provider needs model_path");
                    return;
                }
                Path path = Path.of(modelPath.get());
                if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
                    settings.problem("%s: model file %s does not exist or is not readable".formatted(where, path));
                    return;
                }
                providers.add(new ProviderConfig(name, kind, null, null, path, contextSize, threads, timeout, List.of(),
                        chatTemplate.filter(text -> !text.isBlank()).orElse(null)));
            }
            case OPENAI, ANTHROPIC -> {
                if (chatTemplate.isPresent()) {
                    settings.problem(where + ": chat_template is for local providers only");
                }
                String url = baseUrl.orElse(kind == ProviderKind.OPENAI ? OPENAI_DEFAULT_URL : ANTHROPIC_DEFAULT_URL);
                Optional<URI> uri = parseUrl(where, url);
                if (uri.isEmpty()) {
                    return;
                }
                if (kind == ProviderKind.ANTHROPIC && apiKey == null) {
                    settings.problem(where + ": an anthropic provider needs an API key (api_key, api_key_env or SOMA_ANTHROPIC_API_KEY)");
                }
                providers.add(new ProviderConfig(name, kind, uri.get(), apiKey, null, 0, 0, timeout, models, null));
            }
        }
    }

    private Optional<URI> parseUrl(String where, String text) {
        try {
            URI uri = URI.create(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
            if (uri.getHost() != null && ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                return Optional.of(uri);
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        settings.problem("%s: base URL '%s' is not an http(s) URL".formatted(where, text));
        return Optional.empty();
    }

    /** Local providers answer to their name and their file's base name; remote ones to each listed model. */
    private Map<String, List<AliasTarget>> implicitAliases() {
        Map<String, List<AliasTarget>> aliases = new LinkedHashMap<>();
        for (ProviderConfig provider : providers) {
            if (provider.kind() == ProviderKind.LOCAL) {
                AliasTarget target = new AliasTarget(provider.name(), provider.localModelId());
                aliases.computeIfAbsent(provider.name(), alias -> new ArrayList<>()).add(target);
                if (!provider.localModelId().equals(provider.name())) {
                    aliases.computeIfAbsent(provider.localModelId(), alias -> new ArrayList<>()).add(target);
                }
            }
            for (String model : provider.models()) {
                aliases.computeIfAbsent(model, alias -> new ArrayList<>()).add(new AliasTarget(provider.name(), model));
            }
        }
        return aliases;
    }

    private ModelsConfig.CircuitBreaker readCircuit(JsonNode node) {
        ModelsConfig.CircuitBreaker defaults = ModelsConfig.CircuitBreaker.DEFAULTS;
        String where = "models.circuit_breaker";
        if (node != null && !node.isObject()) {
            settings.problem(where + " must be a map");
            node = null;
        }
        if (node != null) {
            yaml.unknownKeys(where, node, CIRCUIT_KEYS);
        }
        int threshold = yaml.integer(node, "failure_rate_threshold", where, defaults.failureRateThreshold(), 1, 100);
        int window = yaml.integer(node, "sliding_window", where, defaults.slidingWindow(), 1, 10_000);
        int minimum = yaml.integer(node, "minimum_calls", where, defaults.minimumCalls(), 1, 10_000);
        Duration open = yaml.duration(node, "open_duration", where, defaults.openDuration());
        int halfOpen = yaml.integer(node, "half_open_calls", where, defaults.halfOpenCalls(), 1, 1_000);
        return new ModelsConfig.CircuitBreaker(
                settings.integer("models.circuit.failure.rate.threshold", threshold, 1, 100),
                settings.integer("models.circuit.sliding.window", window, 1, 10_000),
                settings.integer("models.circuit.minimum.calls", minimum, 1, 10_000),
                settings.duration("models.circuit.open.duration", open),
                settings.integer("models.circuit.half.open.calls", halfOpen, 1, 1_000));
    }

    private static List<String> commaList(Optional<String> text) {
        return text.map(value -> Arrays.stream(value.split(",")).map(String::trim).filter(id -> !id.isEmpty()).toList())
                .orElse(List.of());
    }

    private static int defaultThreads() {
        return Math.min(2, Runtime.getRuntime().availableProcessors());
    }
}
