package io.somastack.store;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Durable writes at high rates: work submitted by many request threads is run by a few
 * committer threads, many units per transaction, so one fsync covers a whole batch. A
 * caller's future completes only after its batch committed, so whatever it then tells its
 * client is on disk. If a batch fails, it is retried in halves, down to each unit alone, so one
 * bad unit fails only its own caller; a unit alone that PostgreSQL rolled back as a deadlock
 * victim or a serialization failure is run again (up to {@link #TRANSIENT_RETRIES} times), since
 * nothing of it committed. Audit entries, outbox events and deferred work a unit adds
 * through its {@link Tx} go into the same transaction. Thread-safe.
 */
public final class GroupCommit implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommit.class);
    /** How often a unit alone is run again after PostgreSQL rolled it back as a deadlock victim or a serialization failure. */
    static final int TRANSIENT_RETRIES = 3;

    private final Jdbi jdbi;
    private final AuditLog auditLog;
    private final Outbox outbox;
    private final int maxBatch;
    private final BlockingQueue<Unit<?>> queue = new LinkedBlockingQueue<>();
    private final List<Thread> committers = new ArrayList<>();
    private final LongAdder waited = new LongAdder();
    private final List<Runnable> eventsCommitted = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    public GroupCommit(Jdbi jdbi, AuditLog auditLog, Outbox outbox, int maxBatch, int committerThreads) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.auditLog = requireNonNull(auditLog, "auditLog is null");
        this.outbox = requireNonNull(outbox, "outbox is null");
        this.maxBatch = maxBatch;
        for (int i = 0; i < committerThreads; i++) {
            committers.add(Thread.ofPlatform().name("group-commit-" + i).daemon().start(this::run));
        }
    }

    /** Runs {@code work} in a shared transaction; the future completes after the commit. */
    public <T> CompletableFuture<T> submit(Function<Tx, T> work) {
        if (closed) {
            throw new SomaException(ErrorCode.NOT_READY, "The store is shutting down");
        }
        Unit<T> unit = new Unit<>(work, new CompletableFuture<>());
        queue.add(unit);
        return unit.result();
    }

    /** {@link #submit} and wait; a {@link SomaException} from the work is rethrown as is. */
    public <T> T execute(Function<Tx, T> work) {
        waited.increment();
        try {
            return submit(work).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof SomaException soma) {
                throw soma;
            }
            throw new SomaException(ErrorCode.INTERNAL, "Write failed: " + e.getCause().getMessage(), Map.of(), e.getCause());
        }
    }

    /**
     * How many times a caller has waited for a commit ({@link #execute}) since start: what a code
     * path costs in sequential durable commits (tests and benchmarks count it).
     */
    public long executions() {
        return waited.sum();
    }

    /**
     * Runs {@code listener} on the committer thread after each commit that wrote outbox events, once the batch's callers
     * are released (the relay's {@link OutboxRelay#wake()}); keep it short.
     */
    public void afterEventsCommitted(Runnable listener) {
        eventsCommitted.add(requireNonNull(listener, "listener is null"));
    }

    /** Appends one audit entry without waiting for it (reads are audited this way). */
    public void auditLater(AuditEntry entry) {
        if (!closed) {
            submit(tx -> {
                tx.audit(entry);
                return null;
            });
        }
    }

    private void run() {
        List<Unit<?>> batch = new ArrayList<>(maxBatch);
        while (true) {
            try {
                Unit<?> first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closed) {
                        return;
                    }
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, maxBatch - 1);
                commit(batch);
            } catch (InterruptedException e) {
                return;
            } finally {
                batch.clear();
            }
        }
    }

    private void commit(List<Unit<?>> batch) {
        commit(batch, 0);
    }

    private void commit(List<Unit<?>> batch, int retried) {
        List<Object> results = new ArrayList<>(batch.size());
        boolean[] wroteEvents = new boolean[1];
        try {
            jdbi.useTransaction(handle -> {
                Tx tx = new Tx(handle, batch.size() > 1);
                for (Unit<?> unit : batch) {
                    results.add(unit.work().apply(tx));
                }
                tx.runDeferred();
                // The journal in one statement; only a group without audit entries leaves the audit head alone.
                if (tx.audits.isEmpty()) {
                    outbox.appendAll(handle, tx.events);
                } else {
                    auditLog.appendAll(handle, tx.audits, tx.events.isEmpty() ? Optional.empty()
                            : Optional.of(outbox.insert(handle.getConnection(), tx.events)));
                }
                wroteEvents[0] = !tx.events.isEmpty();
            });
        } catch (RuntimeException batchFailure) {
            if (batch.size() == 1) {
                if (retried < TRANSIENT_RETRIES && transientFailure(batchFailure)) {
                    LOG.info("A write was rolled back by PostgreSQL ({}); running it again", batchFailure.getMessage());
                    commit(batch, retried + 1);
                    return;
                }
                batch.getFirst().result().completeExceptionally(batchFailure);
                return;
            }
            // Halves, down to each unit alone: a group with one failing unit costs about 2 log2(n)
            // more transactions instead of n, and every unit that did not fail still commits.
            int half = batch.size() / 2;
            commit(batch.subList(0, half));
            commit(batch.subList(half, batch.size()));
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            complete(batch.get(i), results.get(i));
        }
        if (wroteEvents[0]) {
            eventsCommitted.forEach(Runnable::run);
        }
    }

    /** A deadlock victim (40P01) or a serialization failure (40001): the transaction was rolled back whole and may run again. */
    static boolean transientFailure(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sql && ("40P01".equals(sql.getSQLState()) || "40001".equals(sql.getSQLState()))) {
                return true;
            }
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private static <T> void complete(Unit<T> unit, Object result) {
        unit.result().complete((T) result);
    }

    /** Stops accepting work, then commits everything already queued. */
    @Override
    public void close() {
        closed = true;
        for (Thread committer : committers) {
            try {
                committer.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!queue.isEmpty()) {
            LOG.error("{} writes were still queued at shutdown", queue.size());
        }
    }

    private record Unit<T>(Function<Tx, T> work, CompletableFuture<T> result) {
    }
}
