package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A fact to remember. Validated by {@link Memories#remember} (text size, tags, scope rights),
 * so that a bad entry in a batch is reported with its index.
 *
 * @param ttl how long the fact stays recallable; empty for ever
 */
public record NewMemory(String text, Scope scope, List<String> tags, Provenance provenance, Optional<Duration> ttl) {
    public NewMemory {
        requireNonNull(text, "text is null");
        requireNonNull(scope, "scope is null");
        tags = List.copyOf(tags);
        requireNonNull(provenance, "provenance is null");
        requireNonNull(ttl, "ttl is null");
    }

    public static NewMemory of(String text, Scope scope, SourceKind source) {
        return new NewMemory(text, scope, List.of(), Provenance.of(source), Optional.empty());
    }
}
