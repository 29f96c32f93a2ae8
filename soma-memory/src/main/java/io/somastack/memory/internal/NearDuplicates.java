package io.somastack.memory.internal;

import io.somastack.kernel.TenantId;
import io.somastack.memory.Scope;
import io.somastack.models.Embedder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.LRUQueryCache;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryCachingPolicy;

/**
 * Finds the most similar live memory of a scope: among the index's nearest neighbours that
 * have not changed since the index's applied seq, and among the memories that have (whose
 * PostgreSQL state in {@code recent} wins over the index). Not thread-safe: one per write.
 *
 * <p>A write checks every text of its batch against the same reader with the same filter per
 * scope (tenant and scope), so the filter's matches are cached per segment for the write's
 * length: Lucene's shared query cache leaves small segments alone and caches only after
 * repeated use, and without this each check read the tenant's and scope's postings again in every
 * segment (a quarter of the checks' CPU in a profile of remember).
 */
final class NearDuplicates {
    private static final int NEIGHBOURS = 8;
    /** Filters cached per write: one per scope the batch writes to, the least recently used dropped beyond this. */
    private static final int FILTERS = 16;
    /** At most this much memory for a write's cached filters (a filter takes one bit per document of the index). */
    private static final long FILTER_BYTES = 64L << 20;
    private static final QueryCachingPolicy CACHE_EVERY_FILTER = new QueryCachingPolicy() {
        @Override
        public void onUse(Query query) {
        }

        @Override
        public boolean shouldCache(Query query) {
            return true;
        }
    };

    private final IndexSearch search;
    private final IndexSearcher searcher;
    private final TenantId tenant;
    private final Map<UUID, Candidate> recent;
    private final EmbeddingSpace space;

    NearDuplicates(IndexSearch search, IndexSearcher searcher, TenantId tenant, Map<UUID, Candidate> recent, EmbeddingSpace space) {
        this.search = search;
        this.searcher = new IndexSearcher(searcher.getIndexReader());
        this.searcher.setQueryCache(new LRUQueryCache(FILTERS, FILTER_BYTES, leaf -> true, Float.POSITIVE_INFINITY));
        this.searcher.setQueryCachingPolicy(CACHE_EVERY_FILTER);
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
