package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A recall: the {@code k} facts most relevant to {@code query} among the given scopes,
 * optionally only those carrying every tag in {@code tags} and whose fact time (provenance
 * {@code observed_at}, else the time it was remembered) is in {@code [from, to)}.
 */
public record RecallQuery(String query, List<Scope> scopes, int k, List<String> tags, Optional<Instant> from,
        Optional<Instant> to, RecallMode mode) {
    public static final int MAX_K = 100;
    public static final int MAX_SCOPES = 32;

    public RecallQuery {
        requireNonNull(query, "query is null");
        scopes = List.copyOf(scopes);
        tags = List.copyOf(tags);
        requireNonNull(from, "from is null");
        requireNonNull(to, "to is null");
        requireNonNull(mode, "mode is null");
        if (query.isBlank()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "query must not be empty");
        }
        if (k < 1 || k > MAX_K) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "k must be between 1 and %d (got %d)".formatted(MAX_K, k));
        }
        if (scopes.isEmpty() || scopes.size() > MAX_SCOPES) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "scopes must name 1 to %d scopes".formatted(MAX_SCOPES));
        }
        if (from.isPresent() && to.isPresent() && !from.get().isBefore(to.get())) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "filters.from (%s) must be before filters.to (%s)".formatted(from.get(), to.get()));
        }
    }

    public static RecallQuery of(String query, List<Scope> scopes, int k, RecallMode mode) {
        return new RecallQuery(query, scopes, k, List.of(), Optional.empty(), Optional.empty(), mode);
    }
}
