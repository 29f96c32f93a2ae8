package io.somastack.models.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Clock;
import io.somastack.models.ChatMessage;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.ProviderConfig;
import io.somastack.models.TestModel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The local model's prompt follows the GGUF's chat template, or the operator's: stories260K has
 * none, so the tests run it from a temporary copy whose metadata carries one, and check what the
 * engine evaluated (the billed prompt tokens) against the rendering expected by hand.
 */
class LocalChatTemplateTest {
    private static final String TEMPLATE = """
            {% for message in messages %}<|{{ message['role'] }}|>
            {{ message['content'] }}
            {% endfor %}{% if add_generation_prompt %}<|assistant|>
            {% endif %}""";
    private static final String OPERATOR_TEMPLATE = """
            {% for message in messages %}### {{ message['role'] }} ###
            {{ message['content'] }}

            {% endfor %}{% if add_generation_prompt %}### assistant ###
            {% endif %}""";
    private static Path templated;

    @BeforeAll
    static void copyModelWithTemplate() throws Exception {
        templated = TestGguf.withChatTemplate(TestModel.path(), TEMPLATE);
    }

    @Test
    void aGgufWithAChatTemplateIsPromptedThroughIt() {
        String expected = "<|system|>\nBe brief.\n<|user|>\nTell me a story\n<|assistant|>\n";
        try (LocalProvider provider = provider(templated, null)) {
            assertThat(provider.prompt(story())).isEqualTo(expected);

            ChatResult result = provider.complete(story(), "stories260K");

            assertThat(result.usage().inputTokens()).isEqualTo(provider.countTokens(expected))
                    .isNotEqualTo(provider.countTokens(LocalPrompt.render(story(), List.of())));
            assertThat(result.usage().outputTokens()).isBetween(1, 8);
        }
    }

    @Test
    void chatTemplateNoneKeepsPlainLinesOnATemplatedGguf() {
        try (LocalProvider provider = provider(templated, ProviderConfig.PLAIN_LINES)) {
            String plain = "system: Be brief.\nuser: Tell me a story\nassistant:";
            assertThat(provider.prompt(story())).isEqualTo(plain);

            ChatResult result = provider.complete(story(), "stories260K");

            assertThat(result.usage().inputTokens()).isEqualTo(provider.countTokens(plain));
        }
    }

    @Test
    void theOperatorsTemplateReplacesTheGgufsOrItsAbsence() {
        String expected = "### system ###\nBe brief.\n\n### user ###\nTell me a story\n\n### assistant ###\n";
        for (Path model : List.of(TestModel.path(), templated)) {
            try (LocalProvider provider = provider(model, OPERATOR_TEMPLATE)) {
                assertThat(provider.prompt(story())).isEqualTo(expected);

                ChatResult result = provider.complete(story(), "stories260K");

                assertThat(result.usage().inputTokens()).isEqualTo(provider.countTokens(expected));
            }
        }
    }

    @Test
    void aGgufWithoutATemplateKeepsPlainLines() {
        try (LocalProvider provider = provider(TestModel.path(), null)) {
            assertThat(provider.prompt(story())).isEqualTo("system: Be brief.\nuser: Tell me a story\nassistant:");
        }
    }

    private static LocalProvider provider(Path model, String chatTemplate) {
        return new LocalProvider(ProviderConfig.local("local", model, 512, 1, chatTemplate), Clock.system());
    }

    private static ChatRequest story() {
        ChatRequest base = ChatRequest.of("local", List.of(ChatMessage.of("system", "Be brief."),
                ChatMessage.of("user", "Tell me a story")));
        return new ChatRequest(base.model(), base.messages(), null, null, 8, null, 0.0, null, null, null,
                null, null, null, null, null, null, null, null, null, null);
    }
}
