package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static io.somastack.memory.TestMemory.fact;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Clock;
import io.somastack.models.Embedder;
import io.somastack.models.EmbedderConfig;
import io.somastack.models.OpenAiEmbedder;
import io.somastack.models.OpenAiEmbeddingsWireFixture;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Switching the embedder: recall never compares vectors of two models, and a reindex embeds
 * every live revision again with the new model (1,536-dimensional vectors from an OpenAI-wire
 * provider replacing the local 384-dimensional ones).
 */
class ReindexTest {
    private static OpenAiEmbeddingsWireFixture openAi;

    @BeforeAll
    static void start() {
        openAi = new OpenAiEmbeddingsWireFixture(TestMemory.embedder(), 1536);
    }

    @AfterAll
    static void stop() {
        openAi.close();
    }

    private static EmbedderConfig openAiConfig() {
        return EmbedderConfig.openAi(openAi.baseUrl(), OpenAiEmbeddingsWireFixture.MODEL, Optional.of("SOMA_TEST_OPENAI_KEY"), OptionalInt.of(1536))
                .withBatch(100, Duration.ofSeconds(30));
    }

    private static Embedder openAiEmbedder() {
        return new OpenAiEmbedder(openAiConfig(), Optional.of(OpenAiEmbeddingsWireFixture.API_KEY));
    }

    @Test
    void afterASwitchVectorRecallIgnoresOldVectorsUntilReindexMovesEveryLiveRevisionToTheNewModel() {
        try (TestMemory soma = TestMemory.start()) {
            Caller caller = caller(TestMemory.tenant());
            Scope scope = Scope.of("user", "nina");
            Remembered cello = soma.remember(caller, fact("Nina's favourite instrument is the cello.", scope));
            assertThat(soma.remember(caller, fact("Nina's favourite instrument is the cello!", scope)).outcome())
                    .isEqualTo(Remembered.Outcome.REVISED);
            soma.remember(caller, fact("Nina's flat is on the fourth floor", scope));
            Remembered gone = soma.remember(caller, fact("Nina's bank PIN hint is her cat's birthday", scope));
            soma.memories().delete(caller, gone.memoryId(), "test");

            soma.restart(openAiEmbedder());

            assertThat(soma.memory.revisionsToReindex()).as("two cello revisions and the flat").isEqualTo(3);
            assertThat(soma.recall(caller, "What instrument does Nina play?", RecallMode.VECTOR, scope)).as("no 384-d vector is compared").isEmpty();
            assertThat(soma.recall(caller, "cello", RecallMode.KEYWORD, scope)).extracting(Fact::memoryId).containsExactly(cello.memoryId());

            List<ReindexProgress> progress = new ArrayList<>();
            ReindexProgress done = soma.memory.reindex(progress::add);

            assertThat(done.done()).isEqualTo(3);
            assertThat(done.total()).isEqualTo(3);
            assertThat(progress).isNotEmpty().last().satisfies(last -> assertThat(last.done()).isEqualTo(3));
            assertThat(soma.memory.revisionsToReindex()).isZero();
            assertThat(soma.count("SELECT count(*) FROM memory_revisions WHERE text IS NOT NULL AND embedding_model = 'text-embedding-3-small'"
                    + " AND embedding_dimension = 1536 AND length(embedding) = 1536 * 4")).isEqualTo(3);
            assertThat(soma.count("SELECT count(*) FROM memory_revisions WHERE text IS NOT NULL AND embedding_model <> 'text-embedding-3-small'"))
                    .isZero();
            assertThat(soma.count("SELECT count(*) FROM memory_changes WHERE kind = 'reembedded'")).isEqualTo(2);
            assertThat(soma.recall(caller, "What instrument does Nina play?", RecallMode.VECTOR, scope)).first()
                    .satisfies(fact -> assertThat(fact.memoryId()).isEqualTo(cello.memoryId()));

            soma.restart(false);
            assertThat(soma.recall(caller, "Which floor does Nina live on?", RecallMode.VECTOR, scope)).first()
                    .satisfies(fact -> assertThat(fact.text()).isEqualTo("Nina's flat is on the fourth floor"));
        }
    }

    @Test
    void theReindexCommandWorksOnTheDatabaseAndPrintsProgressToStderr() {
        try (TestMemory soma = TestMemory.start()) {
            Caller caller = caller(TestMemory.tenant());
            List<NewMemory> facts = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                facts.add(fact("Ticket %d: the customer in room %d reports a broken %s".formatted(i, i * 7 % 113,
                        List.of("printer", "lamp", "window", "chair", "heater").get(i % 5)), Scope.of("agent", "desk-" + i % 3)));
            }
            soma.memories().remember(caller, facts.subList(0, 150), Optional.empty());
            soma.memories().remember(caller, facts.subList(150, 300), Optional.empty());
            long revisions = soma.count("SELECT count(*) FROM memory_revisions");
            MemoryConfig config = soma.config.withEmbedder(openAiConfig());
            StringWriter err = new StringWriter();
            CommandLine command = new CommandLine(new MemoryCommands((file, dataDirectory) -> new MemoryCommands.Loaded(soma.store, config),
                    Map.of("SOMA_TEST_OPENAI_KEY", OpenAiEmbeddingsWireFixture.API_KEY)));
            command.setErr(new PrintWriter(err, true));

            int exit = command.execute("reindex");

            assertThat(exit).as(err.toString()).isZero();
            assertThat(err.toString()).contains("Reindexing memory with text-embedding-3-small (1536 dimensions)",
                    "reindexed 256 of %d revisions".formatted(revisions), "reindexed %d of %d revisions (100%%)".formatted(revisions, revisions),
                    "Done: %d revisions embedded again".formatted(revisions));
            assertThat(soma.count("SELECT count(*) FROM memory_revisions WHERE embedding_model = 'text-embedding-3-small'")).isEqualTo(revisions);

            soma.restart(openAiEmbedder());
            assertThat(soma.memory.revisionsToReindex()).isZero();
            assertThat(soma.recall(caller, "broken heater", RecallMode.VECTOR, Scope.of("agent", "desk-1"))).isNotEmpty()
                    .allSatisfy(fact -> assertThat(fact.scope()).isEqualTo(Scope.of("agent", "desk-1")));
        }
    }

    @Test
    void progressEstimatesTheRateAndTimeLeft() {
        ReindexProgress progress = new ReindexProgress(500, 2000, Duration.ofSeconds(2));

        assertThat(progress.perSecond()).isEqualTo(250.0);
        assertThat(progress.eta()).contains(Duration.ofSeconds(6));
        assertThat(progress.describe()).isEqualTo("reindexed 500 of 2,000 revisions (25%), 250/s, about 6s left");
        assertThat(new ReindexProgress(0, 10, Duration.ZERO).eta()).isEmpty();
    }

    @Test
    void theSameModelNeedsNoReindex() {
        try (TestMemory soma = TestMemory.start(MemoryConfig.defaults(Path.of("target")), TestMemory.embedder(), Clock.system())) {
            soma.remember(caller(TestMemory.tenant()), fact("Oscar likes jazz", Scope.of("user", "oscar")));

            assertThat(soma.memory.revisionsToReindex()).isZero();
            assertThat(soma.memory.reindex(progress -> {
            }).done()).isZero();
        }
    }
}
