package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.memory.Caller;
import io.somastack.memory.Fact;
import io.somastack.memory.Recall;
import io.somastack.memory.RecallMode;
import io.somastack.memory.RecallQuery;
import io.somastack.memory.RecallRecord;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.lucene.search.IndexSearcher;

/**
 * The read path of recall: check the scopes, embed the query (cached per tenant, on the
 * embedding thread, overlapped with the keyword search), search the index inside the
 * caller's tenant and scopes, read the facts from PostgreSQL (which drops anything deleted or
 * expired since it was indexed) while the recall record of the hits commits, and return only once
 * the record holds exactly what is returned.
 * Thread-safe.
 */
public final class Recalling {
    private final QueryEmbeddings queryEmbeddings;
    private final MemoryIndex index;
    private final MemoryReads reads;
    private final RecallLog recallLog;
    private final GroupCommit commit;
    private final Clock clock;
    private final Ids ids;
    private final MemoryMetrics metrics;

    public Recalling(QueryEmbeddings queryEmbeddings, MemoryIndex index, MemoryReads reads, RecallLog recallLog, GroupCommit commit, Clock clock, Ids ids,
            MemoryMetrics metrics) {
        this.queryEmbeddings = requireNonNull(queryEmbeddings, "queryEmbeddings is null");
        this.index = requireNonNull(index, "index is null");
        this.reads = requireNonNull(reads, "reads is null");
        this.recallLog = requireNonNull(recallLog, "recallLog is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
    }

    public Recall recall(Caller caller, RecallQuery query) {
        query.scopes().forEach(caller::requireRead);
        Instant now = clock.now();
        IndexFilter filter = new IndexFilter(caller.tenantId(), query.scopes(), query.tags(), query.from(), query.to(), Optional.of(now));
        int depth = Math.min(Math.max(query.k() * 4, 40), 400);
        long started = clock.nanoTime();
        List<Hit> ranked;
        long embedded;
        IndexSearcher searcher = index.acquire();
        try {
            IndexSearch search = new IndexSearch(index);
            CompletableFuture<float[]> pending = query.mode() == RecallMode.KEYWORD ? null : queryEmbeddings.embed(caller.tenantId(), query.query());
            // A hybrid recall searches keywords while its query is embedded on the embedding thread.
            List<Hit> keyword = query.mode() == RecallMode.VECTOR ? List.of() : search.keyword(searcher, filter, query.query(), depth);
            float[] vector = pending == null ? null : await(pending);
            embedded = query.mode() == RecallMode.KEYWORD ? started : clock.nanoTime();
            ranked = switch (query.mode()) {
                case VECTOR -> search.vector(searcher, filter, vector, depth);
                case KEYWORD -> keyword;
                case HYBRID -> IndexSearch.fuse(search.vector(searcher, filter, vector, depth), keyword);
            };
        } finally {
            index.release(searcher);
        }
        boolean vectorUsed = query.mode() != RecallMode.KEYWORD;
        long searched = clock.nanoTime();
        // The record is submitted as soon as the hits are known and commits while the facts are
        // read: it names the first k hits as the index holds them, which is what the fetch returns
        // unless one was deleted, expired or revised since it was indexed. Then the record is
        // corrected to exactly what is returned, and the answer waits for that commit too.
        List<RecallRecord.Hit> expected = ranked.stream().limit(query.k())
                .map(hit -> new RecallRecord.Hit(hit.memoryId(), hit.revisionId(), hit.score())).toList();
        RecallRecord record = new RecallRecord(ids.next(), caller.keyId(), caller.actor(), caller.requestId(), now,
                Vectors.sha256(query.query()), query.mode(), query.k(), query.scopes(), expected);
        Map<String, Object> filters = new LinkedHashMap<>();
        filters.put("tags", query.tags());
        query.from().ifPresent(from -> filters.put("from", from.toString()));
        query.to().ifPresent(to -> filters.put("to", to.toString()));
        CompletableFuture<Void> writing = commit.submit(tx -> {
            recallLog.insert(tx.handle(), caller.tenantId(), record, filters);
            tx.audit(new AuditEntry(Optional.of(caller.tenantId()), caller.actor(), "memory.recall", record.id().toString(),
                    caller.requestId(), Map.of("mode", query.mode().wireName(), "k", query.k())));
            return null;
        });
        List<Fact> facts;
        try {
            facts = facts(caller, ranked, query.k(), now);
        } catch (RuntimeException e) {
            // Nothing is returned, so the record must not name any revision.
            try {
                correct(caller, record, List.of(), writing);
            } catch (RuntimeException failed) {
                e.addSuppressed(failed);
            }
            throw e;
        }
        long fetched = clock.nanoTime();
        List<RecallRecord.Hit> returned = facts.stream().map(fact -> new RecallRecord.Hit(fact.memoryId(), fact.revisionId(), fact.score()))
                .toList();
        if (returned.equals(expected)) {
            await(writing);
        } else {
            correct(caller, record, returned, writing);
        }
        long recorded = clock.nanoTime();
        Recall.Timings timings = new Recall.Timings(Duration.ofNanos(embedded - started), Duration.ofNanos(searched - embedded),
                Duration.ofNanos(fetched - searched), Duration.ofNanos(recorded - fetched));
        if (vectorUsed) {
            metrics.recallEmbed().record(timings.embed());
        }
        metrics.recallSearch().record(timings.search());
        metrics.recallFetch().record(timings.fetch());
        metrics.recallRecord().record(timings.record());
        return new Recall(record.id(), facts, timings);
    }

    /** Once the first write of {@code record} committed, replaces its results by what was returned, durably. */
    private void correct(Caller caller, RecallRecord record, List<RecallRecord.Hit> returned, CompletableFuture<Void> writing) {
        await(writing);
        commit.execute(tx -> {
            recallLog.replaceResults(tx.handle(), caller.tenantId(), record.id(), returned);
            return null;
        });
    }

    private static <T> T await(CompletableFuture<T> pending) {
        try {
            return pending.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
    }

    /**
     * The first {@code k} ranked hits that are still live in PostgreSQL. The first read asks for
     * twice as many as needed (plus 8), so it is one round trip unless many hits were deleted
     * or expired since they were indexed; then the next chunk is read.
     */
    private List<Fact> facts(Caller caller, List<Hit> ranked, int k, Instant now) {
        List<Fact> facts = new ArrayList<>(k);
        int next = 0;
        while (facts.size() < k && next < ranked.size()) {
            int wanted = k - facts.size();
            List<Hit> chunk = ranked.subList(next, Math.min(ranked.size(), next + (next == 0 ? 2 * wanted + 8 : wanted + 2)));
            next += chunk.size();
            Map<UUID, Fact> found = reads.facts(caller.tenantId(), chunk.stream().map(Hit::memoryId).toList(), now);
            for (Hit hit : chunk) {
                Fact fact = found.get(hit.memoryId());
                if (fact != null && facts.size() < k) {
                    facts.add(new Fact(fact.memoryId(), fact.revisionId(), hit.score(), fact.text(), fact.scope(), fact.tags(),
                            fact.provenance(), fact.rememberedAt()));
                }
            }
        }
        return facts;
    }
}
