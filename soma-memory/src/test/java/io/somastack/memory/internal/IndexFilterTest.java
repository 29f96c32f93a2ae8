package io.somastack.memory.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.TenantId;
import io.somastack.memory.Scope;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IndexFilterTest {
    private static final EmbeddingSpace SPACE = new EmbeddingSpace("test-model", 4);
    private static final float[] LIGHTHOUSE = {0, 0, 0.6f, 0.8f};
    private static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");

    @Test
    void aMemoryIsFoundUntilTheMillisecondItExpiresAcrossRepeatedSearchesOfTheSameFilter(@TempDir Path path) throws Exception {
        TenantId tenant = new TenantId(UUID.randomUUID());
        TenantId other = new TenantId(UUID.randomUUID());
        List<IndexedMemory> memories = new ArrayList<>();
        // Enough documents in one segment for Lucene's query cache to keep the filter's matches.
        Random random = new Random(7);
        for (int i = 0; i < 12_000; i++) {
            float[] vector = {(float) random.nextGaussian(), (float) random.nextGaussian(), (float) random.nextGaussian(), (float) random.nextGaussian()};
            memories.add(memory(tenant, "ordinary note " + i, vector, Optional.empty()));
        }
        IndexedMemory expiresNow = memory(tenant, "lighthouse expires now", LIGHTHOUSE, Optional.of(NOW));
        IndexedMemory expiresLater = memory(tenant, "lighthouse expires later", LIGHTHOUSE, Optional.of(NOW.plusMillis(1)));
        IndexedMemory otherTenant = memory(other, "lighthouse of another tenant", LIGHTHOUSE, Optional.empty());
        memories.addAll(List.of(expiresNow, expiresLater, otherTenant));

        try (MemoryIndex index = MemoryIndex.open(path, SPACE)) {
            index.apply(memories, List.of(), 1);
            IndexSearcher searcher = index.acquire();
            try {
                IndexSearch search = new IndexSearch(index);
                for (int round = 0; round < 8; round++) {
                    IndexFilter atNow = new IndexFilter(tenant, List.of(Scope.tenant()), List.of(), Optional.empty(), Optional.empty(), Optional.of(NOW));
                    IndexFilter before = new IndexFilter(tenant, List.of(Scope.tenant()), List.of(), Optional.empty(), Optional.empty(),
                            Optional.of(NOW.minusMillis(1)));
                    IndexFilter never = new IndexFilter(tenant, List.of(Scope.tenant()), List.of(), Optional.empty(), Optional.empty(), Optional.empty());

                    assertThat(search.keyword(searcher, atNow, "lighthouse", 10)).as("round %d: expired at its expiry, other tenant hidden", round)
                            .extracting(Hit::memoryId).containsExactly(expiresLater.memoryId());
                    assertThat(search.keyword(searcher, before, "lighthouse", 10)).as("round %d: both alive a millisecond before", round)
                            .extracting(Hit::memoryId).containsExactlyInAnyOrder(expiresNow.memoryId(), expiresLater.memoryId());
                    assertThat(search.keyword(searcher, never, "lighthouse", 10)).as("round %d: no time given", round)
                            .extracting(Hit::memoryId).containsExactlyInAnyOrder(expiresNow.memoryId(), expiresLater.memoryId());
                    assertThat(search.vector(searcher, atNow, LIGHTHOUSE, 10)).as("round %d: vector search, same rule", round)
                            .extracting(Hit::memoryId).contains(expiresLater.memoryId()).doesNotContain(expiresNow.memoryId(), otherTenant.memoryId());
                }
            } finally {
                index.release(searcher);
            }
        }
    }

    @Test
    void aBroadKeywordSearchFindsExactlyWhatTheFilteredSearchFinds(@TempDir Path path) throws Exception {
        TenantId big = new TenantId(UUID.randomUUID());
        TenantId small = new TenantId(UUID.randomUUID());
        String[] words = {"harbour", "lantern", "keeper", "storm", "rocks", "signal", "tide", "beacon", "fog", "ship"};
        Random random = new Random(11);
        List<IndexedMemory> memories = new ArrayList<>();
        for (int i = 0; i < 3_000; i++) {
            StringBuilder text = new StringBuilder("note " + i);
            for (int w = 0; w < 4; w++) {
                text.append(' ').append(words[random.nextInt(words.length)]);
            }
            TenantId tenant = i % 10 == 0 ? small : big;
            // Every fifth of the big tenant's memories has expired by NOW.
            Optional<Instant> expires = tenant.equals(big) && i % 5 == 1 ? Optional.of(NOW.minusSeconds(1)) : Optional.empty();
            memories.add(memory(tenant, text.toString(), new float[] {1, random.nextFloat(), 0, 0}, expires));
        }
        try (MemoryIndex index = MemoryIndex.open(path, SPACE)) {
            index.apply(memories, List.of(), 1);
            IndexSearcher searcher = index.acquire();
            try {
                IndexSearch search = new IndexSearch(index);
                IndexFilter bigAlive = new IndexFilter(big, List.of(Scope.tenant()), List.of(), Optional.empty(), Optional.empty(), Optional.of(NOW));
                IndexFilter smallAlive = new IndexFilter(small, List.of(Scope.tenant()), List.of(), Optional.empty(), Optional.empty(), Optional.of(NOW));
                assertThat(bigAlive.broadShare(searcher.getIndexReader())).as("the big tenant holds most documents").isPresent();
                assertThat(smallAlive.broadShare(searcher.getIndexReader())).as("the small tenant does not").isEmpty();
                for (String query : List.of("harbour lantern", "storm", "keeper keeper tide", "fog ship beacon signal", "rocks")) {
                    for (int n : List.of(1, 10, 40, 5_000)) {
                        assertThat(search.keyword(searcher, bigAlive, query, n)).as("%s, top %d", query, n)
                                .extracting(Hit::memoryId, Hit::score)
                                .containsExactlyElementsOf(filtered(searcher, bigAlive, query, n).stream()
                                        .map(hit -> Tuple.tuple(hit.memoryId(), hit.score())).toList());
                    }
                }
            } finally {
                index.release(searcher);
            }
        }
    }

    /** The reference: the words and the filter in one Lucene query, as every keyword search ran before. */
    private static List<Hit> filtered(IndexSearcher searcher, IndexFilter filter, String text, int n) throws Exception {
        Query query = new BooleanQuery.Builder().add(IndexSearch.words(new StandardAnalyzer(), text), BooleanClause.Occur.MUST)
                .add(filter.query(), BooleanClause.Occur.FILTER).build();
        TopDocs top = searcher.search(query, n);
        List<Hit> hits = new ArrayList<>();
        StoredFields stored = searcher.storedFields();
        for (ScoreDoc doc : top.scoreDocs) {
            hits.add(new Hit(UUID.fromString(stored.document(doc.doc).get(MemoryIndex.ID)), null, null, doc.score));
        }
        hits.sort(IndexSearch.ORDER);
        return hits;
    }

    private static IndexedMemory memory(TenantId tenant, String text, float[] vector, Optional<Instant> expiresAt) {
        float norm = (float) Math.sqrt(vector[0] * vector[0] + vector[1] * vector[1] + vector[2] * vector[2] + vector[3] * vector[3]);
        float[] unit = new float[vector.length];
        for (int i = 0; i < vector.length; i++) {
            unit[i] = vector[i] / norm;
        }
        return new IndexedMemory(UUID.randomUUID(), tenant, Scope.tenant(), List.of(), UUID.randomUUID(), Vectors.sha256(text), text, unit,
                SPACE.model(), Instant.parse("2026-01-01T00:00:00Z"), expiresAt);
    }
}
