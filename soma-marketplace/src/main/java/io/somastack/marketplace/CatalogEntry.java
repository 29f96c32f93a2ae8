package io.somastack.marketplace;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A capsule as the catalog lists it: the fields of its newest installable version (the
 * highest release, else the highest pre-release, that is not revoked) and its ranking.
 *
 * @param latestVersion empty when every version is revoked; such a capsule is not listed by search
 * @param relevance the full-text rank for a search with a query
 */
public record CatalogEntry(String name, String publisher, Optional<String> latestVersion, String description, List<String> tags,
        Optional<String> license, Optional<String> priceSku, Instant updatedAt, Ranking ranking, Optional<Double> relevance) {

    public CatalogEntry {
        requireNonNull(name, "name is null");
        requireNonNull(publisher, "publisher is null");
        requireNonNull(latestVersion, "latestVersion is null");
        requireNonNull(description, "description is null");
        tags = List.copyOf(tags);
        requireNonNull(license, "license is null");
        requireNonNull(priceSku, "priceSku is null");
        requireNonNull(updatedAt, "updatedAt is null");
        requireNonNull(ranking, "ranking is null");
        requireNonNull(relevance, "relevance is null");
    }
}
