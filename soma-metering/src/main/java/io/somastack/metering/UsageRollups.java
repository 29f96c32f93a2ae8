package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
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

    /** One hour of one model's usage for one capsule (empty: none), for charts. */
    public record Point(Instant hour, String model, Optional<String> capsule, long calls, long inputTokens, long outputTokens, Money cost,
            boolean estimated) {
        public Point {
            requireNonNull(hour, "hour is null");
            requireNonNull(model, "model is null");
            requireNonNull(capsule, "capsule is null");
            requireNonNull(cost, "cost is null");
        }
    }

    /**
     * The hourly series of the filter's period by model and capsule, ordered by hour: one query
     * from which a page draws its charts by model and by capsule, and sums its groups with
     * {@link #sum}.
     */
    public List<Point> hourly(Filter filter) {
        return query(filter, Rollup.HOURLY, """
                SELECT hour, model, capsule, sum(calls) AS calls, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost) AS cost,
                       bool_or(estimated) AS estimated
                FROM usage_rollup_hourly WHERE %s GROUP BY hour, model, capsule ORDER BY hour, model, capsule"""
                .formatted(where(filter, Rollup.HOURLY)), query -> query
                .map((rs, ctx) -> new Point(rs.getTimestamp("hour").toInstant(), rs.getString("model"),
                        Optional.of(rs.getString("capsule")).filter(capsule -> !capsule.isEmpty()), rs.getLong("calls"), rs.getLong("input"),
                        rs.getLong("output"), Money.of(rs.getBigDecimal("cost")), rs.getBoolean("estimated")))
                .list());
    }

    /**
     * {@code points} added up by model or by capsule (no capsule is the group null, last), in
     * exact {@link Money}: the same sums as {@link #summarize} for the same period, groups ordered
     * by name.
     */
    public static List<Ledger.UsageSum> sum(List<Point> points, Ledger.GroupBy groupBy) {
        if (groupBy != Ledger.GroupBy.MODEL && groupBy != Ledger.GroupBy.CAPSULE) {
            throw new IllegalArgumentException("Points are added up by model or capsule, not " + groupBy);
        }
        TreeMap<String, Ledger.UsageSum> sums = new TreeMap<>(Comparator.nullsLast(Comparator.naturalOrder()));
        for (Point point : points) {
            String group = groupBy == Ledger.GroupBy.MODEL ? point.model() : point.capsule().orElse(null);
            sums.merge(group, new Ledger.UsageSum(group, point.calls(), point.inputTokens(), point.outputTokens(), point.cost(), point.estimated()),
                    (a, b) -> new Ledger.UsageSum(group, a.calls() + b.calls(), a.inputTokens() + b.inputTokens(),
                            a.outputTokens() + b.outputTokens(), a.cost().plus(b.cost()), a.anyEstimated() || b.anyEstimated()));
        }
        return List.copyOf(sums.values());
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
