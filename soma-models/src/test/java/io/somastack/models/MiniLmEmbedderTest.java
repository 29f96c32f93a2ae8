package io.somastack.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import io.somastack.models.internal.EmbeddingTexts;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The local MiniLM: a batch of texts gives the vectors and token counts of the same texts embedded alone. */
class MiniLmEmbedderTest {
    private static MiniLmEmbedder embedder;

    @BeforeAll
    static void load() {
        embedder = new MiniLmEmbedder();
    }

    @Test
    void embedsABatchAsItEmbedsEachTextAlone() {
        List<String> texts = new ArrayList<>(List.of("Ada prefers green tea in the morning", "Deploys need two approvals",
                "The backup job runs every night at two and keeps thirty days of snapshots on the second disk, encrypted",
                "Ünïcödé façade — naïve café", "x", "The cafeteria serves pasta on Tuesday"));
        // Longer than the model's 512 tokens: averaged over its parts.
        texts.add("the quick brown fox jumps over the lazy dog ".repeat(80));
        for (int i = 0; i < 40; i++) {
            texts.add("Fact number %d: the build %s on %s".formatted(i, i % 2 == 0 ? "passed" : "failed after the integration tests",
                    "branch " + "s".repeat(i % 7)));
        }

        Embedder.Counted batched = embedder.embedCounted(texts);

        long tokens = 0;
        for (int i = 0; i < texts.size(); i++) {
            Embedder.Counted alone = embedder.embedCounted(List.of(texts.get(i)));
            tokens += alone.tokens();
            assertThat(batched.vectors().get(i)).as("text %d", i).hasSize(MiniLmEmbedder.DIMENSION)
                    .containsExactly(alone.vectors().getFirst(), within(1e-6f));
        }
        assertThat(batched.tokens()).isEqualTo(tokens);
        assertThat(embedder.embed(texts.getFirst())).containsExactly(batched.vectors().getFirst(), within(1e-6f));
        assertThat(Embedder.similarity(embedder.embed("Ada drinks green tea every morning"), batched.vectors().getFirst())).isGreaterThan(0.8);
    }

    @Test
    void givesTheVectorsOfLangchain4jsOwnModelSoStoredMemoriesNeedNoReindex() {
        AllMiniLmL6V2QuantizedEmbeddingModel langchain4j = new AllMiniLmL6V2QuantizedEmbeddingModel();
        for (String text : List.of("Ada prefers green tea in the morning", "Deploys need two approvals", "x")) {
            float[] theirs = EmbeddingTexts.unitLength(langchain4j.embed(text).content().vector());
            assertThat(embedder.embed(text)).as(text).containsExactly(theirs, within(1e-5f));
        }
    }
}
