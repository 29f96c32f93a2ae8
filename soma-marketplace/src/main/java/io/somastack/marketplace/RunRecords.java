package io.somastack.marketplace;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import io.somastack.store.Tx;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;

/**
 * Run records, the input of the ranking. The turn loop calls {@link #record} after every run
 * of an installed capsule (a revoked version cannot run, so it cannot be recorded either);
 * {@link #refresh} recomputes every capsule's {@link Ranking} over the window, in PostgreSQL
 * for the percentiles and sums, and here for the Wilson bound. Thread-safe.
 */
public final class RunRecords {
    private final Jdbi jdbi;
    private final Installs installs;
    private final Clock clock;
    private final Ids ids;
    private final Duration window;

    public RunRecords(Jdbi jdbi, Installs installs, Clock clock, Ids ids, Duration window) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.installs = requireNonNull(installs, "installs is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.window = requireNonNull(window, "window is null");
    }

    /** One finished run of the capsule {@code name} as installed in {@code tenant}. */
    public UUID record(TenantId tenant, String name, Duration latency, Money cost, boolean success) {
        Ranked ranked = ranked(tenant, name, latency, cost, success);
        jdbi.useHandle(handle -> insert(handle, ranked));
        return ranked.id();
    }

    /**
     * A run record checked and made, not yet written: for {@link #record(Tx, Ranked)} in the
     * caller's transaction (the turn loop ends a run in one commit).
     */
    public record Ranked(UUID id, TenantId tenant, String name, String version, Instant finishedAt, Duration latency, Money cost,
            boolean success) {
    }

    /** Checks and makes the record of one finished run; the capsule must still be runnable (404, 410 otherwise). */
    public Ranked ranked(TenantId tenant, String name, Duration latency, Money cost, boolean success) {
        if (latency.isNegative() || cost.isNegative()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "latency and cost of a run must not be negative");
        }
        Installed installed = installs.runnable(tenant, name);
        return new Ranked(ids.next(), tenant, name, installed.version(), clock.now().truncatedTo(ChronoUnit.MICROS), latency, cost, success);
    }

    /** Writes {@code ranked} in {@code tx}. */
    public void record(Tx tx, Ranked ranked) {
        insert(tx.handle(), ranked);
    }

    private static void insert(Handle handle, Ranked ranked) {
        handle.createUpdate("""
                INSERT INTO capsule_runs (id, tenant_id, name, version, finished_at, latency_ms, cost, success)
                VALUES (:id, :tenant, :name, :version, :at, :latency, :cost, :success)""")
                .bind("id", ranked.id()).bind("tenant", ranked.tenant().value()).bind("name", ranked.name()).bind("version", ranked.version())
                .bind("at", ranked.finishedAt()).bind("latency", ranked.latency().toNanos() / 1e6)
                .bind("cost", ranked.cost().amount()).bind("success", ranked.success()).execute();
    }

    /** Recomputes the ranking of every capsule with runs in the window; returns how many capsules were updated. */
    public int refresh() {
        Instant now = clock.now().truncatedTo(ChronoUnit.MICROS);
        Instant from = now.minus(window);
        return jdbi.inTransaction(handle -> {
            List<Stats> stats = handle.createQuery("""
                    SELECT name, count(*) AS runs, count(*) FILTER (WHERE success) AS successes,
                        percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
                        percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95, sum(cost) AS cost
                    FROM capsule_runs WHERE finished_at >= :from GROUP BY name""")
                    .bind("from", from)
                    .map((rs, ctx) -> new Stats(rs.getString("name"), rs.getLong("runs"), rs.getLong("successes"), rs.getDouble("p50"),
                            rs.getDouble("p95"), rs.getBigDecimal("cost")))
                    .list();
            handle.createUpdate("""
                    UPDATE capsules SET runs = 0, successes = 0, success_lower_bound = NULL, p50_ms = NULL, p95_ms = NULL,
                        cost_per_run = NULL, stats_at = :now WHERE runs > 0""").bind("now", now).execute();
            PreparedBatch batch = handle.prepareBatch("""
                    UPDATE capsules SET runs = :runs, successes = :successes, success_lower_bound = :bound, p50_ms = :p50, p95_ms = :p95,
                        cost_per_run = :cost, stats_at = :now WHERE name = :name""");
            for (Stats row : stats) {
                batch.bind("runs", row.runs).bind("successes", row.successes)
                        .bind("bound", Ranking.wilsonLowerBound(row.successes, row.runs, Ranking.Z95)).bind("p50", row.p50)
                        .bind("p95", row.p95).bind("cost", Money.of(row.cost).dividedBy(row.runs).amount()).bind("now", now).bind("name", row.name).add();
            }
            if (!stats.isEmpty()) {
                batch.execute();
            }
            return stats.size();
        });
    }

    private record Stats(String name, long runs, long successes, double p50, double p95, BigDecimal cost) {
    }
}
