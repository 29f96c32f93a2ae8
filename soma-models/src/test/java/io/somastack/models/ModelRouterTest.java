package io.somastack.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.models.ModelsConfig.AliasTarget;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Routing, fallback and circuit breaking over real HTTP against the wire fixtures. */
class ModelRouterTest {
    private final OpenAiWireFixture primary = new OpenAiWireFixture("sk-primary");
    private final OpenAiWireFixture secondary = new OpenAiWireFixture("sk-secondary");
    private final AnthropicWireFixture claude = new AnthropicWireFixture("sk-claude");
    private final TestClock clock = new TestClock();
    private final ModelRouter router = Models.router(config(), clock);

    @AfterEach
    void stop() {
        router.close();
        primary.close();
        secondary.close();
        claude.close();
    }

    @Test
    void fallsBackToTheNextTargetWhenTheFirstIsRateLimited() {
        primary.enqueue(new FixtureReply.Failure(429));
        secondary.enqueue(new FixtureReply.Text("From the secondary", 10, 3));

        ChatResult result = router.complete(question("smart"));

        assertThat(result.provider()).isEqualTo("secondary");
        assertThat(result.model()).isEqualTo("gpt-4o-mini");
        assertThat(result.completion().message().text()).isEqualTo("From the secondary");
        assertThat(primary.requests()).hasSize(1);
        assertThat(secondary.lastRequest().body().path("model").asString()).isEqualTo("gpt-4o-mini");
    }

    @Test
    void fallsBackFromAnthropicToOpenAiOnAServerError() {
        claude.enqueue(new FixtureReply.Failure(500));

        ChatResult result = router.complete(question("careful"));

        assertThat(result.provider()).isEqualTo("primary");
        assertThat(claude.requests()).hasSize(1);
    }

    @Test
    void doesNotFallBackOnARequestTheUpstreamRefuses() {
        primary.enqueue(new FixtureReply.Failure(400));

        assertThatThrownBy(() -> router.complete(question("smart")))
                .isInstanceOfSatisfying(SomaException.class, failure -> assertThat(failure.extensions())
                        .containsEntry("upstream_status", 400).containsEntry("provider", "primary"));
        assertThat(secondary.requests()).isEmpty();
        assertThat(router.circuitStates()).containsEntry("primary", "CLOSED");
    }

    @Test
    void opensTheCircuitAfterRepeatedFailuresAndClosesItAfterTheWait() {
        primary.enqueue(new FixtureReply.Failure(500), new FixtureReply.Failure(500));

        router.complete(question("smart"));
        router.complete(question("smart"));

        assertThat(router.circuitStates()).containsEntry("primary", "OPEN").containsEntry("secondary", "CLOSED");
        ChatResult whileOpen = router.complete(question("smart"));
        assertThat(whileOpen.provider()).isEqualTo("secondary");
        assertThat(primary.requests()).hasSize(2);

        clock.advance(Duration.ofSeconds(31));
        ChatResult afterWait = router.complete(question("smart"));

        assertThat(afterWait.provider()).isEqualTo("primary");
        assertThat(router.circuitStates()).containsEntry("primary", "CLOSED");
    }

    @Test
    void answersUnavailableWhenEveryCircuitIsOpen() {
        primary.enqueue(new FixtureReply.Failure(500), new FixtureReply.Failure(503));

        assertThatThrownBy(() -> router.complete(question("primary-only")))
                .isInstanceOfSatisfying(SomaException.class, failure -> assertThat(failure.code()).isEqualTo(ErrorCode.UPSTREAM_ERROR));
        assertThatThrownBy(() -> router.complete(question("primary-only")))
                .isInstanceOfSatisfying(SomaException.class, failure -> assertThat(failure.extensions()).containsEntry("upstream_status", 503));
        assertThatThrownBy(() -> router.complete(question("primary-only")))
                .isInstanceOfSatisfying(SomaException.class, failure -> {
                    assertThat(failure.code()).isEqualTo(ErrorCode.UPSTREAM_UNAVAILABLE);
                    assertThat(failure.detail()).contains("primary-only", "primary");
                });
        assertThat(primary.requests()).hasSize(2);
    }

    @Test
    void streamFallsBackWhileNoChunkHasReachedTheClient() {
        primary.enqueue(new FixtureReply.Failure(429));
        secondary.enqueue(new FixtureReply.Text("Streamed by the secondary", 9, 4));
        List<ChatChunk> chunks = new ArrayList<>();

        ChatResult result = router.stream(question("smart").withStream(true, null), chunks::add);

        assertThat(result.provider()).isEqualTo("secondary");
        assertThat(OpenAiProviderTest.content(chunks)).isEqualTo("Streamed by the secondary");
    }

    @Test
    void streamDoesNotFallBackOnceAChunkWasDelivered() {
        primary.enqueue(new FixtureReply.DropAfter(2));
        List<ChatChunk> chunks = new ArrayList<>();

        assertThatThrownBy(() -> router.stream(question("smart").withStream(true, null), chunks::add))
                .isInstanceOfSatisfying(SomaException.class, failure -> assertThat(failure.extensions())
                        .containsEntry("provider", "primary").containsEntry("retryable", true));
        assertThat(OpenAiProviderTest.content(chunks)).isEqualTo("word0 word1");
        assertThat(secondary.requests()).isEmpty();
    }

    @Test
    void rejectsAnUnknownModelNamingTheAvailableOnes() {
        assertThatThrownBy(() -> router.route("gpt-5-turbo"))
                .isInstanceOfSatisfying(SomaException.class, failure -> {
                    assertThat(failure.code()).isEqualTo(ErrorCode.UNKNOWN_MODEL);
                    assertThat(failure.detail()).contains("gpt-5-turbo", "smart", "careful", "primary-only");
                });
    }

    @Test
    void listsModelsAndRoutesForBudgetReservations() {
        assertThat(router.models()).extracting(ModelInfo::id, ModelInfo::object, ModelInfo::ownedBy, ModelInfo::created)
                .contains(
                        tuple("smart", "model", "primary", clock.now().getEpochSecond()),
                        tuple("careful", "model", "claude", clock.now().getEpochSecond()));
        Route route = router.route("smart");
        assertThat(route.model()).isEqualTo("smart");
        assertThat(route.targets()).extracting(RouteTarget::providerName, RouteTarget::upstreamModel)
                .containsExactly(tuple("primary", "gpt-4o"),
                        tuple("secondary", "gpt-4o-mini"));
        assertThat(route.countPromptTokens(question("smart"))).isBetween(10, 30);
        assertThat(router.circuitStates()).containsOnlyKeys("primary", "secondary", "claude");
    }

    private ModelsConfig config() {
        Map<String, List<AliasTarget>> aliases = new LinkedHashMap<>();
        aliases.put("smart", List.of(new AliasTarget("primary", "gpt-4o"), new AliasTarget("secondary", "gpt-4o-mini")));
        aliases.put("careful", List.of(new AliasTarget("claude", "claude-sonnet-4-5"), new AliasTarget("primary", "gpt-4o")));
        aliases.put("primary-only", List.of(new AliasTarget("primary", "gpt-4o")));
        return new ModelsConfig(List.of(
                ProviderConfig.remote("primary", ProviderKind.OPENAI, primary.baseUrl(), "sk-primary", List.of()),
                ProviderConfig.remote("secondary", ProviderKind.OPENAI, secondary.baseUrl(), "sk-secondary", List.of()),
                ProviderConfig.remote("claude", ProviderKind.ANTHROPIC, claude.root(), "sk-claude", List.of())),
                aliases, new ModelsConfig.CircuitBreaker(50, 4, 2, Duration.ofSeconds(30), 1));
    }

    private static ChatRequest question(String model) {
        return ChatRequest.of(model, List.of(ChatMessage.of("user", "What is the weather in Paris?")));
    }
}
