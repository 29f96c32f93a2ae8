package io.somastack.memory;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Remember and recall facts with provenance, for one {@link Caller} at a time. PostgreSQL is
 * the source of truth; a Lucene index derived from it answers recalls, and is caught up
 * before a write returns, so a recall on the same node sees the write at once. Every recall
 * is recorded. Failures are {@link io.somastack.kernel.SomaException}s: invalid input,
 * a scope the caller may not use, an unknown memory, an exceeded quota. Thread-safe.
 *
 * <pre>{@code
 * List<Remembered> done = memories.remember(caller, List.of(NewMemory.of("Ada prefers tea", Scope.of("user", "ada"),
 *         SourceKind.CONVERSATION)), Optional.empty()).results();
 * Recall recall = memories.recall(caller, RecallQuery.of("what does Ada drink?", List.of(Scope.of("user", "ada")), 5,
 *         RecallMode.HYBRID));
 * }</pre>
 */
public interface Memories {
    /**
     * Stores a batch atomically: every entry or none. A near-duplicate of a live memory in the
     * same scope becomes a new revision of it. With an idempotency key, a retry returns the
     * first result and stores nothing.
     */
    RememberResult remember(Caller caller, List<NewMemory> memories, Optional<IdempotencyKey> idempotencyKey);

    /** The facts most relevant to the query among scopes the caller may read; recorded. */
    Recall recall(Caller caller, RecallQuery query);

    /** The record of a recall made in the caller's tenant. */
    RecallRecord recallRecord(Caller caller, UUID recallId);

    /** A memory with all its revisions, if the caller may read its scope. */
    StoredMemory memory(Caller caller, UUID memoryId);

    /** Erases a memory's text and embeddings from the store and the index; keeps a tombstone. */
    StoredMemory delete(Caller caller, UUID memoryId, String reason);

    /** Erases every memory of a scope (data-subject erasure); returns how many. */
    int forget(Caller caller, Scope scope, String reason);

    /**
     * A client's idempotency key and the SHA-256 of its request, so that reusing a key for a
     * different request is refused.
     */
    record IdempotencyKey(String key, String requestSha256) {
    }

    /** The outcome of a remember, one entry per input in order; {@code replayed} on a retry. */
    record RememberResult(List<Remembered> results, boolean replayed) {
        public RememberResult {
            results = List.copyOf(results);
        }
    }
}
