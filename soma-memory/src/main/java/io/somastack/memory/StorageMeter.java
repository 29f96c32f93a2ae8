package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.memory.internal.StorageMetering;
import io.somastack.store.GroupCommit;
import io.somastack.store.Tx;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Meters stored memory in MB-hours: each run takes, for every tenant, the time since its meter
 * last advanced ({@code memory_storage_meter.metered_until}; a tenant's first write starts it)
 * times its stored text bytes ({@code memory_usage}, all revisions of live memories) at the run,
 * hands the sample to a {@link StorageSink} and advances the meter, in one transaction. So an
 * interval is metered once across restarts and nodes: tenants are locked with
 * {@code FOR UPDATE SKIP LOCKED}, and a meter that another node has advanced is no longer due.
 * Time is counted in whole micro-hours (3.6 ms); the remainder stays for the next run, and
 * {@code mbHours = bytes × micro-hours / 10^12} is an exact decimal. Bytes are sampled, not
 * integrated: a change between two runs counts from the earlier run, so runs should be frequent
 * against the billing period ({@code memory.storage.meter-interval}, 1 h). Lifecycle:
 * {@link #start()} runs at once and then every interval; {@link #close()} stops. Thread-safe.
 *
 * <pre>{@code
 * StorageMeter meter = new StorageMeter(commit, clock, ledgerSink, config.memory().storageMeterInterval()).start();
 * }</pre>
 */
public final class StorageMeter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StorageMeter.class);
    private static final int BATCH = 100;

    private final GroupCommit commit;
    private final Clock clock;
    private final StorageSink sink;
    private final Duration interval;
    private ScheduledExecutorService timer;

    public StorageMeter(GroupCommit commit, Clock clock, StorageSink sink, Duration interval) {
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.sink = requireNonNull(sink, "sink is null");
        this.interval = requireNonNull(interval, "interval is null");
    }

    /** Meters every due tenant up to now; returns the number of samples handed to the sink. */
    public int run() {
        Instant now = clock.now().truncatedTo(ChronoUnit.MICROS);
        int samples = 0;
        while (true) {
            Batch batch = commit.execute(tx -> meter(tx, now));
            samples += batch.samples();
            if (batch.tenants() < BATCH) {
                return samples;
            }
        }
    }

    private Batch meter(Tx tx, Instant now) {
        StorageMetering.startUnseen(tx.handle(), now);
        List<StorageMetering.Due> due = StorageMetering.lockDue(tx.handle(), now, BATCH);
        int samples = 0;
        for (StorageMetering.Due tenant : due) {
            long microHours = StorageMetering.microHours(tenant.from(), now);
            Instant to = StorageMetering.after(tenant.from(), microHours);
            if (tenant.bytes() > 0) {
                sink.record(tx, tenant.tenantId(), tenant.bytes(), tenant.from(), to, StorageMetering.mbHours(tenant.bytes(), microHours));
                samples++;
            }
            StorageMetering.advance(tx.handle(), tenant.tenantId(), to);
        }
        return new Batch(due.size(), samples);
    }

    /** Runs now and then every interval, on a daemon thread. */
    public StorageMeter start() {
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("memory-storage-meter").daemon().factory());
        timer.scheduleWithFixedDelay(() -> {
            try {
                int samples = run();
                LOG.debug("Metered stored memory: {} samples", samples);
            } catch (RuntimeException e) {
                LOG.warn("Metering stored memory failed (the next run meters the interval): {}", e.getMessage());
            }
        }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    @Override
    public void close() {
        if (timer != null) {
            // No interrupt: an interrupted Lucene or JDBC read closes its NIO channel, and Lucene then closes its writer.
            timer.shutdown();
            try {
                timer.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private record Batch(int tenants, int samples) {
    }
}
