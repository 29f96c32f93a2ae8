package io.somastack.marketplace;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.StorableText;
import java.util.Locale;
import java.util.Optional;

/**
 * A catalog search: an optional full-text query ({@code websearch} syntax: words, "phrases",
 * {@code or}, {@code -not}) and exact filters, sorted and paged.
 *
 * @param free {@code true}: only capsules without a price SKU; {@code false}: only priced ones
 */
public record CatalogQuery(Optional<String> text, Optional<String> publisher, Optional<String> tag, Optional<String> license,
        Optional<String> priceSku, Optional<Boolean> free, Sort sort, int limit, int offset) {

    public static final int MAX_LIMIT = 100;

    /** Orders: by text relevance, by ranking (Wilson lower bound of success), p95 latency, cost per run, recency, name. */
    public enum Sort { RELEVANCE, RANK, LATENCY, COST, NEWEST, NAME }

    public CatalogQuery {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "limit must be in [1, %d]".formatted(MAX_LIMIT));
        }
        if (offset < 0 || offset > 10_000) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "offset must be in [0, 10000]");
        }
        if (text.isPresent() && (text.get().isBlank() || text.get().length() > 200)) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "q must have 1 to 200 characters");
        }
        if (sort == Sort.RELEVANCE && text.isEmpty()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "sort=relevance needs a query (q)");
        }
    }

    /** Reads the query parameters of {@code GET /v1/capsules}; absent ones take their defaults. */
    public static CatalogQuery parse(String q, String publisher, String tag, String license, String priceSku, String free, String sort,
            String limit, String offset) {
        // Each goes into SQL (or an error message): text PostgreSQL cannot take is a 400 naming the parameter.
        StorableText.require("q", q);
        StorableText.require("publisher", publisher);
        StorableText.require("tag", tag);
        StorableText.require("license", license);
        StorableText.require("price_sku", priceSku);
        StorableText.require("free", free);
        StorableText.require("sort", sort);
        StorableText.require("limit", limit);
        StorableText.require("offset", offset);
        Optional<String> text = Optional.ofNullable(q);
        Sort order = sort == null ? (text.isPresent() ? Sort.RELEVANCE : Sort.RANK) : sort(sort);
        return new CatalogQuery(text, Optional.ofNullable(publisher), Optional.ofNullable(tag), Optional.ofNullable(license),
                Optional.ofNullable(priceSku), Optional.ofNullable(free).map(CatalogQuery::bool), order, integer(limit, 20, "limit"),
                integer(offset, 0, "offset"));
    }

    private static Sort sort(String text) {
        try {
            return Sort.valueOf(text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "sort must be one of relevance, rank, latency, cost, newest, name; not '%s'".formatted(text));
        }
    }

    private static boolean bool(String text) {
        return switch (text) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new SomaException(ErrorCode.INVALID_REQUEST, "free must be true or false, not '%s'".formatted(text));
        };
    }

    private static int integer(String text, int defaultValue, String name) {
        if (text == null) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "%s must be an integer, not '%s'".formatted(name, text));
        }
    }
}
