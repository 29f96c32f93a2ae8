package io.somastack.memory.internal;

import io.somastack.kernel.TenantId;
import io.somastack.memory.Scope;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** The current state of a live memory, as the index stores it. */
public record IndexedMemory(UUID memoryId, TenantId tenantId, Scope scope, List<String> tags, UUID revisionId, String contentSha256,
        String text, float[] embedding, String embeddingModel, Instant factTime, Optional<Instant> expiresAt) {
}
