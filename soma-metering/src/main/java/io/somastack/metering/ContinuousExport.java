package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.somastack.kernel.Clock;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts new ledger rows to one receiver (OpenMeter or Lago) as they come: every {@code interval}
 * it sends the rows after its durable cursor ({@code usage_export_cursors}), batch by batch, and
 * moves the cursor only after the receiver acknowledged a batch. A restart resumes at the cursor;
 * a crash between acknowledgement and cursor update sends that batch again, which the receiver
 * drops by event id, so each row arrives exactly once by id. A failed batch (after
 * {@link UsageExport}'s own retries) stops the step, and the next one waits {@code interval × 2^failures}
 * (at most {@link #MAX_BACKOFF}). Gauges per exporter: {@code soma.billing.export.pending} (rows
 * after the cursor) and {@code soma.billing.export.lag.seconds} (how long the oldest of them has
 * waited; 0 when none). Thread-safe: one step at a time per exporter.
 */
public final class ContinuousExport implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ContinuousExport.class);
    static final Duration MAX_BACKOFF = Duration.ofMinutes(5);

    private final Jdbi jdbi;
    private final UsageExport export;
    private final UsageExport.Target target;
    private final Duration interval;
    private final Clock clock;
    private final AtomicLong pending = new AtomicLong();
    private final AtomicLong lagSeconds = new AtomicLong();
    private final ScheduledExecutorService timer;
    private volatile boolean closing;
    private int failures;
    private Instant nextAttempt = Instant.MIN;

    public ContinuousExport(Jdbi jdbi, UsageExport export, UsageExport.Target target, Duration interval, Clock clock, MeterRegistry meters) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.export = requireNonNull(export, "export is null");
        this.target = requireNonNull(target, "target is null");
        this.interval = requireNonNull(interval, "interval is null");
        this.clock = requireNonNull(clock, "clock is null");
        Tags tags = Tags.of("exporter", target.wire());
        meters.gauge("soma.billing.export.pending", tags, pending, AtomicLong::get);
        meters.gauge("soma.billing.export.lag.seconds", tags, lagSeconds, AtomicLong::get);
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("export-" + target.wire()).daemon().factory());
    }

    public ContinuousExport start() {
        timer.scheduleWithFixedDelay(this::step, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** One step, unless backing off: delivers everything exportable now; returns how many rows it delivered. */
    public synchronized int step() {
        int delivered = 0;
        try {
            if (clock.now().isBefore(nextAttempt)) {
                return 0;
            }
            UsageExport.Position cursor = cursor();
            while (!closing) {
                UsageExport.Delivered batch = export.deliverAfter(target, cursor);
                if (batch.events() == 0) {
                    break;
                }
                advance(batch);
                cursor = batch.end();
                delivered += batch.events();
            }
            failures = 0;
            nextAttempt = Instant.MIN;
        } catch (RuntimeException e) {
            failures++;
            Duration backoff = interval.multipliedBy(1L << Math.min(failures, 20));
            backoff = backoff.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff;
            nextAttempt = clock.now().plus(backoff);
            LOG.warn("Export to {} failed ({} in a row); next attempt in {}: {}", target.wire(), failures, backoff, e.getMessage());
        } finally {
            measure();
        }
        return delivered;
    }

    /** Rows after the cursor now (written or still in flight). */
    public long pending() {
        return pending.get();
    }

    public long lagSeconds() {
        return lagSeconds.get();
    }

    private UsageExport.Position cursor() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT last_txid, last_id FROM usage_export_cursors WHERE exporter = :exporter")
                .bind("exporter", target.wire())
                .map((rs, ctx) -> new UsageExport.Position(rs.getLong("last_txid"), (UUID) rs.getObject("last_id"))).findOne())
                .orElse(UsageExport.Position.START);
    }

    /** Moves the cursor forward only: another node exporting too can never move it back. */
    private void advance(UsageExport.Delivered batch) {
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO usage_export_cursors (exporter, last_txid, last_id, exported, updated_at)
                VALUES (:exporter, :txid, :id, :events, :now)
                ON CONFLICT (exporter) DO UPDATE SET last_txid = EXCLUDED.last_txid, last_id = EXCLUDED.last_id,
                    exported = usage_export_cursors.exported + EXCLUDED.exported, updated_at = EXCLUDED.updated_at
                WHERE (usage_export_cursors.last_txid, usage_export_cursors.last_id) < (EXCLUDED.last_txid, EXCLUDED.last_id)""")
                .bind("exporter", target.wire()).bind("txid", batch.end().txid()).bind("id", batch.end().id())
                .bind("events", batch.events()).bind("now", Timestamp.from(clock.now())).execute());
    }

    /**
     * Pending rows and the lag: the time since the oldest of them was booked, but not before the cursor last
     * moved (the close books its charges at the period's end, which says nothing about how long they waited).
     */
    private void measure() {
        try {
            UsageExport.Position cursor = cursor();
            Instant moved = jdbi.withHandle(handle -> handle.createQuery("SELECT updated_at FROM usage_export_cursors WHERE exporter = :exporter")
                    .bind("exporter", target.wire()).mapTo(Timestamp.class).findOne()).map(Timestamp::toInstant).orElse(Instant.EPOCH);
            jdbi.useHandle(handle -> handle.createQuery("""
                    SELECT count(*) AS pending, min(created_at) AS oldest FROM usage_ledger WHERE (export_txid, id) > (:txid, :id)""")
                    .bind("txid", cursor.txid()).bind("id", cursor.id())
                    .map((rs, ctx) -> {
                        long rows = rs.getLong("pending");
                        pending.set(rows);
                        Optional<Instant> oldest = Optional.ofNullable(rs.getTimestamp("oldest")).map(Timestamp::toInstant);
                        Instant since = oldest.filter(at -> at.isAfter(moved)).orElse(moved);
                        lagSeconds.set(rows == 0 ? 0 : Math.max(0, Duration.between(since, clock.now()).toSeconds()));
                        return rows;
                    }).one());
        } catch (RuntimeException e) {
            LOG.warn("Cannot measure the export to {}: {}", target.wire(), e.getMessage());
        }
    }

    /**
     * Stops exporting: a step under way finishes the batch it is sending and moves the cursor, and
     * close returns only then. Before, close interrupted the timer and returned while a step could
     * still send batches, so an exporter started next (after a restart, or on another node) sent the
     * same rows again from the cursor it read.
     */
    @Override
    public void close() {
        closing = true;
        timer.shutdown();
        try {
            if (!timer.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.warn("Export to {} still sending 30 s after close; stopping it", target.wire());
                timer.shutdownNow();
            }
        } catch (InterruptedException e) {
            timer.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
