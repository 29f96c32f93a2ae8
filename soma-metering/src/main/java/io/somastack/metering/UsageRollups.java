package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/**
 * Reads the hourly usage rollups ({@code usage_rollup_hourly}), which a trigger on the ledger
 * keeps in the ledger row's own transaction (see V3_20). For a period of whole hours the sums
 * equal {@link Ledger#summarize} exactly: the same NUMERIC sums, pre-added by hour, model, key
 * and capsule ({@code ''} in the rollup for none, null again when read). Dashboards read these instead of scanning the ledger. Thread-safe.
 */
public final class UsageRollups {
    private final Jdbi jdbi;

    public UsageRollups(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** What to sum: a tenant, a period {@code [from, to)} rounded down to whole hours, and optional model and key filters. */
    public record Filter(TenantId tenant, Instant from, Instant to, Optional<String> model, Optional<UUID> key) {
        public Filter {
            requireNonNull(tenant, "tenant is null");
            from = from.truncatedTo(ChronoUnit.HOURS);
            to = to.truncatedTo(ChronoUnit.HOURS);
            requireNonNull(model, "model is null");
            requireNonNull(key, "key is null");
        }
    }

    /** Sums grouped as {@code /v1/usage} groups them (model, key, UTC day or capsule), ordered by group. */
    public List<Ledger.UsageSum> summarize(Filter filter, Ledger.GroupBy groupBy) {
        String group = group(groupBy);
        return query(filter, """
                SELECT %s AS grp, sum(calls) AS calls, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost) AS cost,
                       bool_or(estimated) AS estimated
                FROM usage_rollup_hourly WHERE %s GROUP BY grp ORDER BY grp""".formatted(group, where(filter)), query -> query
                .map((rs, ctx) -> new Ledger.UsageSum(rs.getString("grp"), rs.getLong("calls"), rs.getLong("input"), rs.getLong("output"),
                        Money.of(rs.getBigDecimal("cost")), rs.getBoolean("estimated")))
                .list());
    }

    /**
     * One hour of one group's usage, for charts: {@code group} is a model or a capsule (null for
     * usage of no capsule).
     */
    public record Point(Instant hour, String group, long calls, long inputTokens, long outputTokens, Money cost) {
    }

    /** The hourly series of the filter's period by model or by capsule ({@code series}), ordered by hour then group. */
    public List<Point> hourly(Filter filter, Ledger.GroupBy series) {
        if (series != Ledger.GroupBy.MODEL && series != Ledger.GroupBy.CAPSULE) {
            throw new IllegalArgumentException("Hourly series are by model or capsule, not " + series);
        }
        return query(filter, """
                SELECT hour, %s AS grp, sum(calls) AS calls, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost) AS cost
                FROM usage_rollup_hourly WHERE %s GROUP BY hour, grp ORDER BY hour, grp""".formatted(group(series), where(filter)), query -> query
                .map((rs, ctx) -> new Point(rs.getTimestamp("hour").toInstant(), rs.getString("grp"), rs.getLong("calls"),
                        rs.getLong("input"), rs.getLong("output"), Money.of(rs.getBigDecimal("cost"))))
                .list());
    }

    private static String group(Ledger.GroupBy groupBy) {
        return switch (groupBy) {
            case MODEL -> "model";
            case KEY -> "key_id::text";
            case DAY -> "to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
            case CAPSULE -> "nullif(capsule, '')";
        };
    }

    /** The models and keys the tenant has used in the period (the choices of a filter form). */
    public List<String> models(Filter filter) {
        return query(filter, "SELECT DISTINCT model FROM usage_rollup_hourly WHERE %s ORDER BY model".formatted(where(filter)),
                query -> query.mapTo(String.class).list());
    }

    private static String where(Filter filter) {
        return "tenant_id = :tenant AND hour >= :from AND hour < :to"
                + filter.model().map(model -> " AND model = :model").orElse("")
                + filter.key().map(key -> " AND key_id = :key").orElse("");
    }

    private <T> List<T> query(Filter filter, String sql, Function<Query, List<T>> read) {
        return jdbi.withHandle(handle -> {
            Query query = handle.createQuery(sql).bind("tenant", filter.tenant().value())
                    .bind("from", Timestamp.from(filter.from())).bind("to", Timestamp.from(filter.to()));
            filter.model().ifPresent(model -> query.bind("model", model));
            filter.key().ifPresent(key -> query.bind("key", key));
            return read.apply(query);
        });
    }
}
