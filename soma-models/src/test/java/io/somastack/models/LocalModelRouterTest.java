package io.somastack.models;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Settings;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code SOMA_LOCAL_MODEL} alone is a working setup: config, router and the real tiny model. */
class LocalModelRouterTest {

    @Test
    void servesTheLocalModelUnderBothItsIds() {
        Settings settings = Settings.load(Map.of("SOMA_LOCAL_MODEL", TestModel.path().toString(),
                "SOMA_LOCAL_CONTEXT_SIZE", "512", "SOMA_LOCAL_THREADS", "1"), Optional.empty());
        ModelsConfig config = ModelsConfig.from(settings, Map.of());
        settings.validate();

        try (ModelRouter router = Models.router(config, new TestClock())) {
            assertThat(router.models()).extracting(ModelInfo::id).containsExactly("local", "stories260K");
            assertThat(router.models()).extracting(ModelInfo::ownedBy).containsOnly("local");
            ChatRequest request = new ChatRequest("stories260K", List.of(ChatMessage.of("user", "Once upon a time")),
                    null, null, 8, null, 0.0, null, null, null, null, null, null, null, null, null, null, null, null, null);

            ChatResult result = router.complete(request);

            assertThat(result.provider()).isEqualTo("local");
            assertThat(result.model()).isEqualTo("stories260K");
            assertThat(result.usage().outputTokens()).isEqualTo(8);
            assertThat(router.route("local").countPromptTokens(request)).isEqualTo(result.usage().inputTokens());
            assertThat(router.circuitStates()).containsExactly(Map.entry("local", "CLOSED"));
        }
    }
}
