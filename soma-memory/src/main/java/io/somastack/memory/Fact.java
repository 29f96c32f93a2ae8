package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * One recalled fact: the memory's current revision, its score under the recall's
 * {@link RecallMode}, and its provenance.
 */
public record Fact(UUID memoryId, UUID revisionId, double score, String text, Scope scope, List<String> tags,
        Provenance provenance, Instant rememberedAt) {
    public Fact {
        requireNonNull(memoryId, "memoryId is null");
        requireNonNull(revisionId, "revisionId is null");
        requireNonNull(text, "text is null");
        requireNonNull(scope, "scope is null");
        tags = List.copyOf(tags);
        requireNonNull(provenance, "provenance is null");
        requireNonNull(rememberedAt, "rememberedAt is null");
    }
}
