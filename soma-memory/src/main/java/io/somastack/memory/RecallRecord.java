package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * The audit record of one recall: who asked, when, a SHA-256 of the query (not the query,
 * which may hold personal data), and exactly which revisions came back with which scores.
 */
public record RecallRecord(UUID id, UUID keyId, String actor, String requestId, Instant at, String querySha256, RecallMode mode,
        int k, List<Scope> scopes, List<Hit> results) {
    public RecallRecord {
        requireNonNull(id, "id is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(actor, "actor is null");
        requireNonNull(requestId, "requestId is null");
        requireNonNull(at, "at is null");
        requireNonNull(querySha256, "querySha256 is null");
        requireNonNull(mode, "mode is null");
        scopes = List.copyOf(scopes);
        results = List.copyOf(results);
    }

    /** One returned revision and its score. */
    public record Hit(UUID memoryId, UUID revisionId, double score) {
    }
}
