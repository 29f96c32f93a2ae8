package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * A memory with its whole history, oldest revision first. After a delete, {@code deletedAt}
 * is set and every revision's text is gone ({@link Revision#text()} empty).
 */
public record StoredMemory(UUID id, Scope scope, List<String> tags, Optional<Instant> expiresAt, Instant createdAt,
        Instant updatedAt, Optional<UUID> currentRevisionId, Optional<Instant> deletedAt, List<Revision> revisions) {
    public StoredMemory {
        requireNonNull(id, "id is null");
        requireNonNull(scope, "scope is null");
        tags = List.copyOf(tags);
        requireNonNull(expiresAt, "expiresAt is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
        requireNonNull(currentRevisionId, "currentRevisionId is null");
        requireNonNull(deletedAt, "deletedAt is null");
        revisions = List.copyOf(revisions);
    }

    /** One version of a memory's text, with the embedding model that indexed it. */
    public record Revision(UUID id, int number, Optional<String> text, Optional<String> contentSha256, String embeddingModel,
            int embeddingDimension, Provenance provenance, List<String> tags, Instant createdAt, String createdBy,
            Optional<Instant> erasedAt) {
        public Revision {
            requireNonNull(id, "id is null");
            requireNonNull(text, "text is null");
            requireNonNull(contentSha256, "contentSha256 is null");
            requireNonNull(embeddingModel, "embeddingModel is null");
            requireNonNull(provenance, "provenance is null");
            tags = List.copyOf(tags);
            requireNonNull(createdAt, "createdAt is null");
            requireNonNull(createdBy, "createdBy is null");
            requireNonNull(erasedAt, "erasedAt is null");
        }
    }
}
