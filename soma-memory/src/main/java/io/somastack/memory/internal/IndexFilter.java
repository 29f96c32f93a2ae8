package io.somastack.memory.internal;

import io.somastack.kernel.TenantId;
import io.somastack.memory.Scope;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.ConstantScoreQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;

/**
 * Which documents a search may return: always one tenant and a set of scopes (the access
 * rule, applied inside the index), then optionally tags (all required), a fact-time range
 * {@code [from, to)}, and only memories unexpired at {@code aliveAt}.
 */
public record IndexFilter(TenantId tenant, List<Scope> scopes, List<String> tags, Optional<Instant> from, Optional<Instant> to,
        Optional<Instant> aliveAt) {

    public IndexFilter {
        scopes = List.copyOf(scopes);
        tags = List.copyOf(tags);
        if (scopes.isEmpty()) {
            throw new IllegalArgumentException("a search needs at least one scope");
        }
    }

    /**
     * When this filter likely passes most of {@code reader}'s documents (no tags or time range, and both
     * the tenant and the scopes hold at least half of them), the share it likely passes (tenant and scopes
     * as if independent, expiry left out); empty otherwise. An estimate from term statistics: a keyword
     * search then ranks the words first, that much deeper, and checks the filter on the hits, which is
     * exact either way.
     */
    OptionalDouble broadShare(IndexReader reader) {
        if (!tags.isEmpty() || from.isPresent() || to.isPresent() || reader.maxDoc() == 0) {
            return OptionalDouble.empty();
        }
        try {
            long half = reader.maxDoc() / 2L;
            long inScopes = 0;
            for (Scope scope : scopes) {
                inScopes += reader.docFreq(new Term(MemoryIndex.SCOPE, scope.key()));
            }
            long inTenant = reader.docFreq(new Term(MemoryIndex.TENANT, tenant.toString()));
            if (inScopes < half || inTenant < half) {
                return OptionalDouble.empty();
            }
            double documents = reader.maxDoc();
            return OptionalDouble.of(Math.min(1, inTenant / documents) * Math.min(1, inScopes / documents));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Query query() {
        BooleanQuery.Builder filter = new BooleanQuery.Builder();
        filter.add(new TermQuery(new Term(MemoryIndex.TENANT, tenant.toString())), BooleanClause.Occur.FILTER);
        BooleanQuery.Builder anyScope = new BooleanQuery.Builder();
        for (Scope scope : scopes) {
            anyScope.add(new TermQuery(new Term(MemoryIndex.SCOPE, scope.key())), BooleanClause.Occur.SHOULD);
        }
        filter.add(anyScope.build(), BooleanClause.Occur.FILTER);
        for (String tag : tags) {
            filter.add(new TermQuery(new Term(MemoryIndex.TAG, tag)), BooleanClause.Occur.FILTER);
        }
        if (from.isPresent() || to.isPresent()) {
            long lower = from.map(Instant::toEpochMilli).orElse(Long.MIN_VALUE);
            long upper = to.map(at -> at.toEpochMilli() - 1).orElse(Long.MAX_VALUE);
            filter.add(LongPoint.newRangeQuery(MemoryIndex.FACT_TIME, lower, upper), BooleanClause.Occur.FILTER);
        }
        Query stable = new ConstantScoreQuery(filter.build());
        if (aliveAt.isEmpty()) {
            return stable;
        }
        // Every document holds one expiry (Long.MAX_VALUE for none), so "expires after aliveAt" is
        // "not expired by aliveAt". Written as an exclusion, the rest of the filter stays the same
        // query from one recall to the next, and Lucene's query cache keeps its matches per segment
        // instead of intersecting the tenant's and scopes' postings with a range of nearly every
        // document on each search; the excluded range holds only the expired documents.
        return new ConstantScoreQuery(new BooleanQuery.Builder()
                .add(stable, BooleanClause.Occur.FILTER)
                .add(LongPoint.newRangeQuery(MemoryIndex.EXPIRES, Long.MIN_VALUE, aliveAt.get().toEpochMilli()), BooleanClause.Occur.MUST_NOT)
                .build());
    }
}
