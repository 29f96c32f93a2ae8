package io.somastack.memory.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.UUID;
import java.util.function.DoubleUnaryOperator;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.tokenattributes.TermToBytesRefAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.BoostQuery;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.ScorerSupplier;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.Weight;
import org.apache.lucene.util.BytesRef;

/**
 * Vector, keyword and hybrid searches over one acquired searcher. Results are ordered by
 * score, ties by memory id, so the same data gives the same order whatever the segment layout.
 */
public final class IndexSearch {
    /** The reciprocal rank fusion constant of Cormack et al. (2009). */
    static final int FUSION_K = 60;
    /**
     * At most how much deeper a broad keyword search ranks the words alone before checking the filter on the hits:
     * {@code n} over the filter's estimated share of the index, with a quarter to spare, is what it ranks.
     */
    static final int OVERFETCH = 4;
    /** A keyword search reads at most this many distinct words of a query. */
    public static final int MAX_QUERY_TERMS = 512;

    private final MemoryIndex index;

    public IndexSearch(MemoryIndex index) {
        this.index = index;
    }

    /**
     * The {@code n} nearest memories to a unit vector; scores are cosine similarities. The
     * k of Lucene's query is also its search breadth, so callers over-fetch and trim.
     */
    public List<Hit> vector(IndexSearcher searcher, IndexFilter filter, float[] vector, int n) {
        TopDocs top = search(searcher, new KnnFloatVectorQuery(MemoryIndex.VECTOR, vector, n, filter.query()), n);
        // Lucene scores DOT_PRODUCT as (1 + dot) / 2; report the cosine itself.
        return hits(searcher, top, score -> 2.0 * score - 1.0);
    }

    /**
     * The {@code n} best BM25 matches of the query's words; empty when it has no words. Only the
     * first {@link #MAX_QUERY_TERMS} distinct words count (see {@link #words}).
     */
    public List<Hit> keyword(IndexSearcher searcher, IndexFilter filter, String text, int n) {
        Query words = words(index.analyzer(), text);
        if (words == null) {
            return List.of();
        }
        OptionalDouble share = filter.broadShare(searcher.getIndexReader());
        TopDocs top = share.isPresent() ? wordsThenFilter(searcher, filter, share.getAsDouble(), words, n) : null;
        if (top == null) {
            Query query = new BooleanQuery.Builder().add(words, BooleanClause.Occur.MUST).add(filter.query(), BooleanClause.Occur.FILTER).build();
            top = search(searcher, query, n);
        }
        return hits(searcher, top, score -> score);
    }

    /**
     * The {@code n} best matches of {@code words} that pass {@code filter}, found by ranking the words alone
     * (deeper by the filter's {@code share}, at most {@link #OVERFETCH} times) and then checking the filter on those hits only; null when fewer than
     * {@code n} of them pass while more matches exist, and the caller must search with the filter. The filter does
     * not score, so both ways rank the same documents the same; but as a conjunction over nearly all documents it
     * makes Lucene's top-k scoring skip far less (BENCHMARKS.md: 4.4 against 1.7 ms at 443k memories of one tenant).
     */
    private static TopDocs wordsThenFilter(IndexSearcher searcher, IndexFilter filter, double share, Query words, int n) {
        try {
            // Ranking deeper costs more (BM25's top-k skips less), so only as deep as the filter's share needs.
            int depth = (int) Math.min((long) n * OVERFETCH, Math.max(n + 8L, (long) Math.ceil(n * 1.25 / share)));
            TopDocs wide = searcher.search(words, depth);
            int[] docs = Arrays.stream(wide.scoreDocs).mapToInt(doc -> doc.doc).sorted().toArray();
            Weight accept = searcher.createWeight(searcher.rewrite(filter.query()), ScoreMode.COMPLETE_NO_SCORES, 1f);
            List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
            Set<Integer> passing = new HashSet<>();
            int next = 0;
            while (next < docs.length) {
                LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(docs[next], leaves));
                int end = leaf.docBase + leaf.reader().maxDoc();
                ScorerSupplier supplier = accept.scorerSupplier(leaf);
                DocIdSetIterator iterator = supplier == null ? null : supplier.get(docs.length).iterator();
                for (; next < docs.length && docs[next] < end; next++) {
                    int local = docs[next] - leaf.docBase;
                    if (iterator != null && (iterator.docID() < local ? iterator.advance(local) : iterator.docID()) == local) {
                        passing.add(docs[next]);
                    }
                }
            }
            List<ScoreDoc> kept = new ArrayList<>(n);
            for (ScoreDoc doc : wide.scoreDocs) {
                if (kept.size() < n && passing.contains(doc.doc)) {
                    kept.add(doc);
                }
            }
            // Fewer than asked for wide means it holds every match of the words, so what passed is all there is.
            boolean complete = wide.scoreDocs.length < depth;
            return kept.size() == n || complete ? new TopDocs(wide.totalHits, kept.toArray(ScoreDoc[]::new)) : null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * One SHOULD clause per distinct analyzed word of {@code text}, boosted by how often it occurs
     * (the same BM25 score as one clause per occurrence), for the first {@link #MAX_QUERY_TERMS}
     * distinct words; later new words are ignored. A query of any length thus stays within
     * Lucene's limit of 1,024 clauses, with room for the filter's. Null when there are no words.
     */
    static Query words(Analyzer analyzer, String text) {
        Map<BytesRef, Integer> counts = new LinkedHashMap<>();
        try (TokenStream tokens = analyzer.tokenStream(MemoryIndex.TEXT, text)) {
            TermToBytesRefAttribute term = tokens.addAttribute(TermToBytesRefAttribute.class);
            tokens.reset();
            while (tokens.incrementToken()) {
                BytesRef bytes = term.getBytesRef();
                if (counts.containsKey(bytes)) {
                    counts.merge(bytes, 1, Integer::sum);
                } else if (counts.size() < MAX_QUERY_TERMS) {
                    counts.put(BytesRef.deepCopyOf(bytes), 1);
                }
            }
            tokens.end();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (counts.isEmpty()) {
            return null;
        }
        BooleanQuery.Builder words = new BooleanQuery.Builder();
        counts.forEach((bytes, count) -> {
            Query word = new TermQuery(new Term(MemoryIndex.TEXT, bytes));
            words.add(count == 1 ? word : new BoostQuery(word, count), BooleanClause.Occur.SHOULD);
        });
        return words.build();
    }

    /** Reciprocal rank fusion of two rankings: score = sum over rankings of 1 / (60 + rank). */
    public static List<Hit> fuse(List<Hit> first, List<Hit> second) {
        Map<UUID, Hit> byId = new HashMap<>();
        Map<UUID, Double> scores = new HashMap<>();
        for (List<Hit> ranking : List.of(first, second)) {
            for (int rank = 0; rank < ranking.size(); rank++) {
                Hit hit = ranking.get(rank);
                byId.putIfAbsent(hit.memoryId(), hit);
                scores.merge(hit.memoryId(), 1.0 / (FUSION_K + rank + 1), Double::sum);
            }
        }
        List<Hit> fused = new ArrayList<>();
        scores.forEach((id, score) -> {
            Hit hit = byId.get(id);
            fused.add(new Hit(id, hit.revisionId(), hit.contentSha256(), score));
        });
        fused.sort(ORDER);
        return fused;
    }

    static final Comparator<Hit> ORDER = Comparator.comparingDouble(Hit::score).reversed().thenComparing(Hit::memoryId);

    private static TopDocs search(IndexSearcher searcher, Query query, int n) {
        try {
            return searcher.search(query, n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The hits of {@code top}, read in doc id order from each segment's {@link IndexKeys} doc values, or from
     * the stored fields for a document indexed before they existed.
     */
    private static List<Hit> hits(IndexSearcher searcher, TopDocs top, DoubleUnaryOperator score) {
        try {
            ScoreDoc[] byDoc = top.scoreDocs.clone();
            Arrays.sort(byDoc, Comparator.comparingInt(doc -> doc.doc));
            List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
            List<Hit> hits = new ArrayList<>(byDoc.length);
            StoredFields stored = null;
            int leaf = -1;
            BinaryDocValues keys = null;
            for (ScoreDoc doc : byDoc) {
                int next = ReaderUtil.subIndex(doc.doc, leaves);
                if (next != leaf) {
                    leaf = next;
                    keys = leaves.get(leaf).reader().getBinaryDocValues(IndexKeys.FIELD);
                }
                double value = score.applyAsDouble(doc.score);
                if (keys != null && keys.advanceExact(doc.doc - leaves.get(leaf).docBase)) {
                    hits.add(IndexKeys.decode(keys.binaryValue(), value));
                    continue;
                }
                stored = stored == null ? searcher.storedFields() : stored;
                Document document = stored.document(doc.doc);
                hits.add(new Hit(UUID.fromString(document.get(MemoryIndex.ID)), UUID.fromString(document.get(MemoryIndex.REVISION)),
                        document.get(MemoryIndex.SHA), value));
            }
            hits.sort(ORDER);
            return hits;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
