package io.somastack.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Settings;
import io.somastack.kernel.SomaException;
import io.somastack.models.ModelsConfig.AliasTarget;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Defaults and every key of the models configuration. */
class ModelsConfigTest {
    @TempDir
    Path directory;

    @Test
    void hasNoProvidersAndDefaultCircuitBreakersByDefault() {
        Settings settings = Settings.of(Map.of());

        ModelsConfig config = ModelsConfig.from(settings, Map.of());

        assertThat(config.providers()).isEmpty();
        assertThat(config.aliases()).isEmpty();
        assertThat(config.circuitBreaker()).isEqualTo(new ModelsConfig.CircuitBreaker(50, 20, 5, Duration.ofSeconds(30), 2));
        settings.validate();
    }

    @Test
    void localModelVariableAloneServesLocalAndTheFileName() throws IOException {
        Path model = Files.createFile(directory.resolve("stories260K.gguf"));
        Settings settings = Settings.load(Map.of("SOMA_LOCAL_MODEL", model.toString()), Optional.empty());

        ModelsConfig config = ModelsConfig.from(settings, Map.of());

        ProviderConfig local = config.providers().getFirst();
        assertThat(local.name()).isEqualTo("local");
        assertThat(local.kind()).isEqualTo(ProviderKind.LOCAL);
        assertThat(local.modelPath()).isEqualTo(model);
        assertThat(local.contextSize()).isEqualTo(2048);
        assertThat(local.threads()).isBetween(1, 2);
        assertThat(config.aliases()).containsOnlyKeys("local", "stories260K");
        assertThat(config.aliases().get("local")).containsExactly(new AliasTarget("local", "stories260K"));
        settings.validate();
    }

    @Test
    void readsLocalContextThreadsAndTimeout() throws IOException {
        Path model = Files.createFile(directory.resolve("tiny.gguf"));
        Settings settings = Settings.load(Map.of("SOMA_LOCAL_MODEL", model.toString(), "SOMA_LOCAL_CONTEXT_SIZE", "512",
                "SOMA_LOCAL_THREADS", "1", "SOMA_LOCAL_TIMEOUT", "5s"), Optional.empty());

        ProviderConfig local = ModelsConfig.from(settings, Map.of()).providers().getFirst();

        assertThat(local.contextSize()).isEqualTo(512);
        assertThat(local.threads()).isEqualTo(1);
        assertThat(local.timeout()).isEqualTo(Duration.ofSeconds(5));
        settings.validate();
    }

    @Test
    void openAiAndAnthropicVariablesExposeTheirListedModels() {
        Settings settings = Settings.load(Map.of(
                "SOMA_OPENAI_BASE_URL", "http://vllm.internal:8000/v1/", "SOMA_OPENAI_API_KEY", "sk-1",
                "SOMA_OPENAI_MODELS", "gpt-4o-mini, llama-3-8b", "SOMA_OPENAI_TIMEOUT", "30s",
                "SOMA_ANTHROPIC_API_KEY", "sk-ant", "SOMA_ANTHROPIC_MODELS", "claude-sonnet-4-5"), Optional.empty());

        ModelsConfig config = ModelsConfig.from(settings, Map.of());

        ProviderConfig openAi = config.provider("openai").orElseThrow();
        assertThat(openAi.baseUrl()).isEqualTo(URI.create("http://vllm.internal:8000/v1"));
        assertThat(openAi.apiKey()).isEqualTo("sk-1");
        assertThat(openAi.timeout()).isEqualTo(Duration.ofSeconds(30));
        ProviderConfig anthropic = config.provider("anthropic").orElseThrow();
        assertThat(anthropic.baseUrl()).isEqualTo(URI.create("https://api.anthropic.com"));
        assertThat(config.aliases()).containsEntry("llama-3-8b", List.of(new AliasTarget("openai", "llama-3-8b")))
                .containsEntry("claude-sonnet-4-5", List.of(new AliasTarget("anthropic", "claude-sonnet-4-5")));
        settings.validate();
    }

    @Test
    void anOpenAiKeyAloneUsesTheOpenAiApi() {
        Settings settings = Settings.load(Map.of("SOMA_OPENAI_API_KEY", "sk-1"), Optional.empty());

        assertThat(ModelsConfig.from(settings, Map.of()).provider("openai").orElseThrow().baseUrl())
                .isEqualTo(URI.create("https://api.openai.com/v1"));
    }

    @Test
    void readsProvidersAliasesAndCircuitBreakerFromYaml() throws IOException {
        Path model = Files.createFile(directory.resolve("tiny.gguf"));
        Path yaml = Files.writeString(directory.resolve("soma.yaml"), """
                models:
                  providers:
                    - name: azure
                      kind: openai
                      base_url: https://example.openai.azure.com/openai/v1
                      api_key_env: AZURE_KEY
                      timeout: 45s
                      models: [gpt-4o]
                    - {name: claude, kind: anthropic, api_key: sk-ant}
                    - {name: tiny, kind: local, model_path: %s, context_size: 1024, threads: 1, chat_template: none}
                  aliases:
                    smart: [azure/gpt-4o, {provider: claude, model: claude-sonnet-4-5}, tiny/tiny]
                    fast: tiny/tiny
                  circuit_breaker:
                    failure_rate_threshold: 25
                    sliding_window: 10
                    minimum_calls: 4
                    open_duration: 1m
                    half_open_calls: 3
                """.formatted(model));
        Settings settings = Settings.load(Map.of("SOMA_MODELS_CIRCUIT_MINIMUM_CALLS", "6"), Optional.of(yaml));

        ModelsConfig config = ModelsConfig.from(settings, Map.of("AZURE_KEY", "sk-azure"));

        assertThat(config.providers()).extracting(ProviderConfig::name).containsExactly("azure", "claude", "tiny");
        ProviderConfig azure = config.provider("azure").orElseThrow();
        assertThat(azure.apiKey()).isEqualTo("sk-azure");
        assertThat(azure.timeout()).isEqualTo(Duration.ofSeconds(45));
        assertThat(config.provider("tiny").orElseThrow().contextSize()).isEqualTo(1024);
        assertThat(config.provider("tiny").orElseThrow().chatTemplate()).isEqualTo(ProviderConfig.PLAIN_LINES);
        assertThat(azure.chatTemplate()).isNull();
        assertThat(config.aliases().get("smart")).containsExactly(new AliasTarget("azure", "gpt-4o"),
                new AliasTarget("claude", "claude-sonnet-4-5"), new AliasTarget("tiny", "tiny"));
        assertThat(config.aliases()).containsEntry("fast", List.of(new AliasTarget("tiny", "tiny")))
                .containsEntry("gpt-4o", List.of(new AliasTarget("azure", "gpt-4o")))
                .containsKeys("tiny");
        assertThat(config.circuitBreaker()).isEqualTo(new ModelsConfig.CircuitBreaker(25, 10, 6, Duration.ofMinutes(1), 3));
        settings.validate();
    }

    @Test
    void reportsEveryBadValueAtOnce() throws IOException {
        Path yaml = Files.writeString(directory.resolve("bad.yaml"), """
                models:
                  providers:
                    - {name: a, kind: gemini}
                    - {name: b, kind: local, model_path: /nowhere/model.gguf}
                    - {name: c, kind: openai, base_url: "ftp://x", colour: blue, chat_template: none}
                    - {name: d, kind: openai, base_url: "http://d.internal", context_size: 10, timeout: soon,
                       api_key_env: MISSING_KEY}
                  aliases:
                    smart: [nowhere/gpt-4o, "no-slash"]
                  retries: 3
                """);
        Settings settings = Settings.load(Map.of("SOMA_LOCAL_THREADS", "many"), Optional.of(yaml));

        ModelsConfig.from(settings, Map.of());

        assertThatThrownBy(settings::validate).isInstanceOfSatisfying(SomaException.class, failure -> assertThat(failure.detail())
                .contains("models.providers[0] needs a name and a kind",
                        "model file /nowhere/model.gguf does not exist",
                        "base URL 'ftp://x' is not an http(s) URL",
                        "unknown key 'colour'",
                        "models.providers[2]: chat_template is for local providers only",
                        "models.providers[3].context_size=10 is out of range",
                        "models.providers[3].timeout='soon' is not a duration",
                        "environment variable MISSING_KEY is not set",
                        "models.aliases.smart[0]: unknown provider 'nowhere'",
                        "'no-slash' is not provider/upstream-model",
                        "models: unknown key 'retries'",
                        "local.threads='many' is not an integer"));
    }

    @Test
    void anthropicNeedsAnApiKey() {
        Settings settings = Settings.load(Map.of("SOMA_ANTHROPIC_BASE_URL", "https://proxy.internal"), Optional.empty());

        ModelsConfig.from(settings, Map.of());

        assertThatThrownBy(settings::validate).hasMessageContaining("an anthropic provider needs an API key");
    }

    @Test
    void redactsApiKeysWhenPrinted() {
        Settings settings = Settings.load(Map.of("SOMA_OPENAI_API_KEY", "sk-secret-value"), Optional.empty());

        assertThat(ModelsConfig.from(settings, Map.of()).toString()).doesNotContain("sk-secret-value").contains("apiKey=***");
    }
}
