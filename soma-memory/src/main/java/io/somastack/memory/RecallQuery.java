package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.memory.internal.BatchProblems;
import io.somastack.memory.internal.IndexSearch;
import io.somastack.memory.internal.Texts;
import io.somastack.kernel.Instants;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A recall: the {@code k} facts most relevant to {@code query} among the given scopes,
 * optionally only those carrying every tag in {@code tags} and whose fact time (provenance
 * {@code observed_at}, else the time it was remembered) is in {@code [from, to)}. Refused as bad
 * input: a query of no content an embedder can read, NUL or a lone surrogate, more than
 * {@link #MAX_TAGS} tags or a malformed tag, and instants outside the years 0001 to 9999. A
 * keyword search reads at most the query's first {@link IndexSearch#MAX_QUERY_TERMS} distinct
 * words (see {@code soma-memory/README.md}).
 */
public record RecallQuery(String query, List<Scope> scopes, int k, List<String> tags, Optional<Instant> from,
        Optional<Instant> to, RecallMode mode) {
    public static final int MAX_K = 100;
    public static final int MAX_SCOPES = 32;
    /** At most this many tags in a filter: a memory has at most as many. */
    public static final int MAX_TAGS = 32;

    public RecallQuery {
        requireNonNull(query, "query is null");
        scopes = List.copyOf(scopes);
        tags = List.copyOf(tags);
        requireNonNull(from, "from is null");
        requireNonNull(to, "to is null");
        requireNonNull(mode, "mode is null");
        Texts.embeddingProblem("query", query).ifPresent(problem -> {
            throw new SomaException(ErrorCode.INVALID_REQUEST, problem);
        });
        if (tags.size() > MAX_TAGS) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "filters.tags names %d tags; the limit is %d (a memory has at most %d)"
                    .formatted(tags.size(), MAX_TAGS, MAX_TAGS));
        }
        tags.stream().filter(tag -> !BatchProblems.isTag(tag)).findFirst().ifPresent(tag -> {
            throw new SomaException(ErrorCode.INVALID_REQUEST, BatchProblems.tagProblem("filters.tags", tag));
        });
        from.flatMap(at -> Instants.rangeProblem("filters.from", at)).or(() -> to.flatMap(at -> Instants.rangeProblem("filters.to", at)))
                .ifPresent(problem -> {
                    throw new SomaException(ErrorCode.INVALID_REQUEST, problem);
                });
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
