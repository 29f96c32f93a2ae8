package io.somastack.memory.internal;

import io.somastack.kernel.TenantId;
import io.somastack.memory.Scope;
import io.somastack.models.Embedder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.lucene.search.IndexSearcher;

/**
 * Finds the most similar live memory of a scope: among the index's nearest neighbours that
 * have not changed since the index's applied seq, and among the memories that have (whose
 * PostgreSQL state in {@code recent} wins over the index). Not thread-safe: one per write.
 */
final class NearDuplicates {
    private static final int NEIGHBOURS = 8;

    private final IndexSearch search;
    private final IndexSearcher searcher;
    private final TenantId tenant;
    private final Map<UUID, Candidate> recent;
    private final EmbeddingSpace space;

    NearDuplicates(IndexSearch search, IndexSearcher searcher, TenantId tenant, Map<UUID, Candidate> recent, EmbeddingSpace space) {
        this.search = search;
        this.searcher = searcher;
        this.tenant = tenant;
        this.recent = recent;
        this.space = space;
    }

    Optional<Match> nearest(Scope scope, float[] embedding) {
        Match best = null;
        IndexFilter filter = new IndexFilter(tenant, List.of(scope), List.of(), Optional.empty(), Optional.empty(), Optional.empty());
        for (Hit hit : search.vector(searcher, filter, embedding, NEIGHBOURS)) {
            if (!recent.containsKey(hit.memoryId()) && (best == null || hit.score() > best.similarity())) {
                best = new Match(hit.memoryId(), hit.revisionId(), hit.contentSha256(), hit.score());
            }
        }
        for (Candidate candidate : recent.values()) {
            // A vector of another model cannot be compared; reindexing makes it comparable again.
            if (candidate.deleted() || !candidate.scope().equals(scope) || !space.holds(candidate.embeddingModel(), candidate.embedding())) {
                continue;
            }
            double similarity = Embedder.similarity(embedding, candidate.embedding());
            if (best == null || similarity > best.similarity()) {
                best = new Match(candidate.memoryId(), candidate.revisionId(), candidate.contentSha256(), similarity);
            }
        }
        return Optional.ofNullable(best);
    }

    record Match(UUID memoryId, UUID revisionId, String contentSha256, double similarity) {
    }
}
