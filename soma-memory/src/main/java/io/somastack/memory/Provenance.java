package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * Where a fact came from, stored with every revision and returned with every recalled fact.
 *
 * @param kind the kind of source
 * @param reference the source itself: a turn id, a tool call id, a document URI
 * @param author who stated the fact (a user id, an agent id)
 * @param observedAt when the fact was observed, if known; else the revision's creation time stands in
 */
public record Provenance(SourceKind kind, Optional<String> reference, Optional<String> author, Optional<Instant> observedAt) {
    public Provenance {
        requireNonNull(kind, "kind is null");
        requireNonNull(reference, "reference is null");
        requireNonNull(author, "author is null");
        requireNonNull(observedAt, "observedAt is null");
    }

    public static Provenance of(SourceKind kind) {
        return new Provenance(kind, Optional.empty(), Optional.empty(), Optional.empty());
    }
}
