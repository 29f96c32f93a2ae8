package io.somastack.memory.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.TenantId;
import io.somastack.memory.Scope;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.store.FSDirectory;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IndexKeysTest {
    private static final EmbeddingSpace SPACE = new EmbeddingSpace("test-model", 4);
    private static final TenantId TENANT = new TenantId(UUID.randomUUID());

    @Test
    void searchesAnIndexWrittenBeforeTheKeysDocValueExistedAlongsideNewDocuments(@TempDir Path path) throws Exception {
        UUID oldMemory = UUID.randomUUID();
        UUID oldRevision = UUID.randomUUID();
        String oldSha = Vectors.sha256("the old lighthouse keeper");
        // A document as the index wrote it before (stored fields only), committed with the index's user data.
        try (FSDirectory directory = FSDirectory.open(path);
                IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig(new StandardAnalyzer()).setCodec(new WideVectorsCodec()))) {
            Document document = new Document();
            document.add(new StringField(MemoryIndex.ID, oldMemory.toString(), Field.Store.YES));
            document.add(new StoredField(MemoryIndex.REVISION, oldRevision.toString()));
            document.add(new StoredField(MemoryIndex.SHA, oldSha));
            document.add(new StringField(MemoryIndex.TENANT, TENANT.toString(), Field.Store.NO));
            document.add(new StringField(MemoryIndex.SCOPE, Scope.tenant().key(), Field.Store.NO));
            document.add(new TextField(MemoryIndex.TEXT, "the old lighthouse keeper", Field.Store.NO));
            document.add(new KnnFloatVectorField(MemoryIndex.VECTOR, new float[] {1, 0, 0, 0}, VectorSimilarityFunction.DOT_PRODUCT));
            document.add(new LongPoint(MemoryIndex.FACT_TIME, 0));
            document.add(new LongPoint(MemoryIndex.EXPIRES, Long.MAX_VALUE));
            writer.addDocument(document);
            writer.setLiveCommitData(Map.of("applied_seq", "1", "embedding_space", SPACE.key()).entrySet());
            writer.commit();
        }
        IndexedMemory fresh = new IndexedMemory(UUID.randomUUID(), TENANT, Scope.tenant(), List.of(), UUID.randomUUID(),
                Vectors.sha256("the new lighthouse keeper"), "the new lighthouse keeper", new float[] {0.6f, 0.8f, 0, 0}, SPACE.model(),
                Instant.parse("2026-01-01T00:00:00Z"), Optional.empty());

        try (MemoryIndex index = MemoryIndex.open(path, SPACE)) {
            assertThat(index.appliedSeq()).isEqualTo(1);
            index.apply(List.of(fresh), List.of(), 2);
            IndexSearcher searcher = index.acquire();
            try {
                IndexSearch search = new IndexSearch(index);
                IndexFilter filter = new IndexFilter(TENANT, List.of(Scope.tenant()), List.of(), Optional.empty(), Optional.empty(),
                        Optional.of(Instant.now()));
                List<Hit> vector = search.vector(searcher, filter, new float[] {1, 0, 0, 0}, 10);
                List<Hit> keyword = search.keyword(searcher, filter, "lighthouse keeper", 10);

                assertThat(vector).extracting(Hit::memoryId, Hit::revisionId, Hit::contentSha256).containsExactly(
                        Tuple.tuple(oldMemory, oldRevision, oldSha),
                        Tuple.tuple(fresh.memoryId(), fresh.revisionId(), fresh.contentSha256()));
                assertThat(keyword).extracting(Hit::memoryId).containsExactlyInAnyOrder(oldMemory, fresh.memoryId());
            } finally {
                index.release(searcher);
            }
        }
    }
}
