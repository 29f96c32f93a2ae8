package io.somastack.memory.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.BinaryDocValuesField;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.TieredMergePolicy;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.store.FSDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Lucene index of live memories, one document per memory (its current revision): HNSW
 * vector, BM25 text, and tenant, scope, tag and time fields for filters. The text is indexed,
 * not stored: facts are read from PostgreSQL. The commit's user data holds the last applied
 * change seq and the {@link EmbeddingSpace} of its vectors; an index of another space is
 * rebuilt from PostgreSQL at open, and a memory whose vector is of another model is indexed
 * without one (keyword recall finds it, vector recall does not) until it is reindexed. One
 * writer ({@link IndexFeed}) applies changes; searches run concurrently on near-real-time
 * searchers. Thread-safe.
 */
public final class MemoryIndex implements AutoCloseable {
    static final String ID = "memory_id";
    static final String REVISION = "revision_id";
    static final String SHA = "content_sha256";
    static final String TENANT = "tenant";
    static final String SCOPE = "scope";
    static final String TAG = "tag";
    static final String TEXT = "text";
    static final String VECTOR = "vector";
    static final String FACT_TIME = "fact_time";
    static final String EXPIRES = "expires_at";
    private static final String APPLIED_SEQ = "applied_seq";
    private static final String SPACE = "embedding_space";
    private static final Logger LOG = LoggerFactory.getLogger(MemoryIndex.class);

    private final StandardAnalyzer analyzer = new StandardAnalyzer();
    private final FSDirectory directory;
    private final IndexWriter writer;
    private final SearcherManager searchers;
    private final EmbeddingSpace space;
    private volatile long appliedSeq;
    private volatile boolean dirty;

    private MemoryIndex(FSDirectory directory, IndexWriter writer, EmbeddingSpace space, boolean rebuilt) throws IOException {
        this.directory = directory;
        this.writer = writer;
        this.space = space;
        this.searchers = new SearcherManager(writer, null);
        long seq = 0;
        for (Map.Entry<String, String> entry : writer.getLiveCommitData() == null ? List.<Map.Entry<String, String>>of()
                : writer.getLiveCommitData()) {
            if (entry.getKey().equals(APPLIED_SEQ) && !rebuilt) {
                seq = Long.parseLong(entry.getValue());
            }
        }
        this.appliedSeq = seq;
        // A new or rebuilt index is committed at start with its space recorded, so the next start
        // finds it (an index committed without it, e.g. empty on close, would be rebuilt every time).
        this.dirty = rebuilt || writer.getLiveCommitData() == null || !hasSpace(writer);
    }

    private static boolean hasSpace(IndexWriter writer) {
        for (Map.Entry<String, String> entry : writer.getLiveCommitData()) {
            if (entry.getKey().equals(SPACE)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Opens (or creates) the index in {@code path} for vectors of {@code space}. An index whose
     * last commit holds another space (or none) starts empty, to be rebuilt from the change sequence.
     */
    public static MemoryIndex open(Path path, EmbeddingSpace space) {
        try {
            FSDirectory directory = FSDirectory.open(path);
            Optional<String> stored = storedSpace(directory);
            boolean rebuild = DirectoryReader.indexExists(directory) && !stored.equals(Optional.of(space.key()));
            if (rebuild) {
                LOG.warn("The memory index in {} holds vectors of {}, not {}: rebuilding it from PostgreSQL", path,
                        stored.orElse("an unrecorded model"), space.key());
            }
            TieredMergePolicy mergePolicy = new TieredMergePolicy();
            // Erasure must rewrite every segment holding a deleted memory, however few it holds.
            mergePolicy.setForceMergeDeletesPctAllowed(0.0);
            IndexWriterConfig config = new IndexWriterConfig(new StandardAnalyzer()).setCodec(new WideVectorsCodec())
                    .setOpenMode(rebuild ? IndexWriterConfig.OpenMode.CREATE : IndexWriterConfig.OpenMode.CREATE_OR_APPEND)
                    .setMergePolicy(mergePolicy);
            return new MemoryIndex(directory, new IndexWriter(directory, config), space, rebuild);
        } catch (IOException e) {
            throw new SomaException(ErrorCode.INTERNAL, "Cannot open the memory index in %s: %s".formatted(path, e.getMessage()),
                    Map.of(), e);
        }
    }

    private static Optional<String> storedSpace(FSDirectory directory) throws IOException {
        if (!DirectoryReader.indexExists(directory)) {
            return Optional.empty();
        }
        return Optional.ofNullable(SegmentInfos.readLatestCommit(directory).getUserData().get(SPACE));
    }

    /** The model and dimension of the vectors in this index. */
    public EmbeddingSpace space() {
        return space;
    }

    /** The last change seq whose effect searchers see. */
    public long appliedSeq() {
        return appliedSeq;
    }

    StandardAnalyzer analyzer() {
        return analyzer;
    }

    /**
     * Applies current states and deletions, makes them visible to new searchers, then
     * advances {@link #appliedSeq()} (in that order, so a reader that reads the seq first and
     * then acquires a searcher sees at least that seq). Called by one thread at a time.
     */
    void apply(Collection<IndexedMemory> upserts, Collection<UUID> deletions, long upToSeq) {
        try {
            for (IndexedMemory memory : upserts) {
                writer.updateDocument(new Term(ID, memory.memoryId().toString()), document(memory, space));
            }
            for (UUID id : deletions) {
                writer.deleteDocuments(new Term(ID, id.toString()));
            }
            searchers.maybeRefreshBlocking();
            appliedSeq = upToSeq;
            dirty = true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Commits to disk with the applied seq in the commit's user data. Called by one thread at a time. */
    void commit() {
        try {
            writer.setLiveCommitData(Map.of(APPLIED_SEQ, Long.toString(appliedSeq), SPACE, space.key()).entrySet());
            writer.commit();
            dirty = false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    boolean isDirty() {
        return dirty;
    }

    /** Rewrites segments holding deleted documents and removes the old files, so erased text leaves the disk. */
    void expungeDeletes() {
        try {
            writer.forceMergeDeletes(true);
            commit();
            searchers.maybeRefreshBlocking();
            writer.deleteUnusedFiles();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    IndexSearcher acquire() {
        try {
            return searchers.acquire();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void release(IndexSearcher searcher) {
        try {
            searchers.release(searcher);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Document document(IndexedMemory memory, EmbeddingSpace space) {
        Document document = new Document();
        document.add(new StringField(ID, memory.memoryId().toString(), Field.Store.YES));
        document.add(new StoredField(REVISION, memory.revisionId().toString()));
        document.add(new StoredField(SHA, memory.contentSha256()));
        IndexKeys.encode(memory.memoryId(), memory.revisionId(), memory.contentSha256())
                .ifPresent(keys -> document.add(new BinaryDocValuesField(IndexKeys.FIELD, keys)));
        document.add(new StringField(TENANT, memory.tenantId().toString(), Field.Store.NO));
        document.add(new StringField(SCOPE, memory.scope().key(), Field.Store.NO));
        for (String tag : memory.tags()) {
            document.add(new StringField(TAG, tag, Field.Store.NO));
        }
        document.add(new TextField(TEXT, memory.text(), Field.Store.NO));
        if (space.holds(memory.embeddingModel(), memory.embedding())) {
            document.add(new KnnFloatVectorField(VECTOR, memory.embedding(), VectorSimilarityFunction.DOT_PRODUCT));
        }
        document.add(new LongPoint(FACT_TIME, memory.factTime().toEpochMilli()));
        document.add(new LongPoint(EXPIRES, memory.expiresAt().map(at -> at.toEpochMilli()).orElse(Long.MAX_VALUE)));
        return document;
    }

    @Override
    public void close() {
        try {
            searchers.close();
            writer.close();
            directory.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
