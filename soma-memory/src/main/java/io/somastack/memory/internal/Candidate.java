package io.somastack.memory.internal;

import io.somastack.memory.Scope;
import java.util.UUID;

/**
 * A live or deleted memory as the near-duplicate check sees it: its scope and current
 * revision. {@code embedding} is null for a deleted memory.
 */
public record Candidate(UUID memoryId, Scope scope, UUID revisionId, String contentSha256, float[] embedding, String embeddingModel,
        boolean deleted) {
}
