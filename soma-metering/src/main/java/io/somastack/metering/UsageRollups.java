package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/**
 * Reads the usage rollups, which triggers on the ledger keep in the ledger row's own transaction:
 * {@code usage_rollup_hourly} (V3_20, V3_21) and {@code usage_rollup_daily} (V3_22), both by
 * model, key and capsule ({@code ''} in the rollup for none, null again when read). For a period
 * of whole hours the sums equal {@link Ledger#summarize} exactly: the same NUMERIC sums,
 * pre-added. A period of whole UTC days is read from the daily rollup (a 24th of the rows), any
 * other from the hourly one. Dashboards read these instead of scanning the ledger. Thread-safe.
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

        boolean wholeDays() {
            return from.equals(from.truncatedTo(ChronoUnit.DAYS)) && to.equals(to.truncatedTo(ChronoUnit.DAYS));
        }
    }

    /** Sums grouped as {@code /v1/usage} groups them (model, key, UTC day or capsule), ordered by group. */
    public List<Ledger.UsageSum> summarize(Filter filter, Ledger.GroupBy groupBy) {
        Rollup rollup = Rollup.of(filter);
        return query(filter, rollup, """
                SELECT %s AS grp, sum(calls) AS calls, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost) AS cost,
                       bool_or(estimated) AS estimated
                FROM %s WHERE %s GROUP BY grp ORDER BY grp""".formatted(rollup.group(groupBy), rollup.table(), where(filter, rollup)),
                query -> query.map((rs, ctx) -> new Ledger.UsageSum(rs.getString("grp"), rs.getLong("calls"), rs.getLong("input"),
                        rs.getLong("output"), Money.of(rs.getBigDecimal("cost")), rs.getBoolean("estimated"))).list());
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
        Rollup rollup = Rollup.HOURLY;
        return query(filter, rollup, """
                SELECT hour, %s AS grp, sum(calls) AS calls, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost) AS cost
                FROM usage_rollup_hourly WHERE %s GROUP BY hour, grp ORDER BY hour, grp""".formatted(rollup.group(series),
                where(filter, rollup)), query -> query
                .map((rs, ctx) -> new Point(rs.getTimestamp("hour").toInstant(), rs.getString("grp"), rs.getLong("calls"),
                        rs.getLong("input"), rs.getLong("output"), Money.of(rs.getBigDecimal("cost"))))
                .list());
    }

    /** The models the tenant has used in the period (the choices of a filter form). */
    public List<String> models(Filter filter) {
        Rollup rollup = Rollup.of(filter);
        return query(filter, rollup, "SELECT DISTINCT model FROM %s WHERE %s ORDER BY model".formatted(rollup.table(), where(filter, rollup)),
                query -> query.mapTo(String.class).list());
    }

    /** The two rollups: the table, its time column, and how a period's bounds and a UTC day are written for it. */
    private enum Rollup {
        HOURLY("usage_rollup_hourly", "hour", "to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        DAILY("usage_rollup_daily", "day", "to_char(day, 'YYYY-MM-DD')");

        private final String table;
        private final String time;
        private final String day;

        Rollup(String table, String time, String day) {
            this.table = table;
            this.time = time;
            this.day = day;
        }

        static Rollup of(Filter filter) {
            return filter.wholeDays() ? DAILY : HOURLY;
        }

        String table() {
            return table;
        }

        String group(Ledger.GroupBy groupBy) {
            return switch (groupBy) {
                case MODEL -> "model";
                case KEY -> "key_id::text";
                case DAY -> day;
                case CAPSULE -> "nullif(capsule, '')";
            };
        }

        Object bound(Instant instant) {
            return this == DAILY ? LocalDate.ofInstant(instant, ZoneOffset.UTC) : Timestamp.from(instant);
        }
    }

    private static String where(Filter filter, Rollup rollup) {
        return "tenant_id = :tenant AND %1$s >= :from AND %1$s < :to".formatted(rollup.time)
                + filter.model().map(model -> " AND model = :model").orElse("")
                + filter.key().map(key -> " AND key_id = :key").orElse("");
    }

    private <T> List<T> query(Filter filter, Rollup rollup, String sql, Function<Query, List<T>> read) {
        return jdbi.withHandle(handle -> {
            Query query = handle.createQuery(sql).bind("tenant", filter.tenant().value())
                    .bind("from", rollup.bound(filter.from())).bind("to", rollup.bound(filter.to()));
            filter.model().ifPresent(model -> query.bind("model", model));
            filter.key().ifPresent(key -> query.bind("key", key));
            return read.apply(query);
        });
    }
}
