package io.somastack.store;

import static java.util.Objects.requireNonNull;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers outbox events to a {@link Sink} (soma-kafka's {@code KafkaSink} in a cluster, none in
 * the embedded default) and to in-process listeners, in {@code seq} order, at least once.
 *
 * <p>Pipelined: each batch is claimed in its own transaction with {@code FOR UPDATE SKIP LOCKED}
 * (so nodes sharing the database never deliver the same row twice at once) and handed to the
 * sink at once; up to {@code inFlight} batches are out at the same time, each holding its
 * transaction (and pool connection) open, and the next is claimed while earlier ones wait for
 * their acknowledgement. Batches are finished strictly in claim order: the oldest, once the sink
 * acknowledged it, goes to the listeners and is marked dispatched in its transaction. If a batch
 * fails (the sink, a listener or the mark), it and every batch claimed after it are rolled back,
 * the sink is {@linkplain Sink#reset() reset}, and they are all claimed and sent again from the
 * oldest: a later batch is never marked before an earlier one, nor left delivered ahead of an
 * earlier one's resend. A crash between acknowledgement and mark sends the batch again.
 *
 * <p>The relay wakes when {@link #wake()} is called (the group commit calls it after each commit
 * that wrote events) and otherwise polls every {@code interval}. With a {@linkplain #lingering
 * linger}, a wake-up sooner than that after the last claim began waits out the rest, so the events
 * of the commits meanwhile go in one claim (one transaction and three round trips) instead of one
 * claim per commit. Thread-safe.
 */
public final class OutboxRelay implements AutoCloseable {
    /** Batches out at once by default: claimed and sent, not yet acknowledged and marked. */
    public static final int DEFAULT_IN_FLIGHT = 4;

    private static final Logger LOG = LoggerFactory.getLogger(OutboxRelay.class);
    private static final String CLAIM = """
            SELECT seq, id, type, subject, tenant_id, time, data::text FROM outbox
            WHERE dispatched_at IS NULL ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED""";

    private final DataSource dataSource;
    private final Duration interval;
    private final int batchSize;
    private final int inFlight;
    private final Sink sink;
    private final List<Consumer<DispatchedEvent>> listeners = new CopyOnWriteArrayList<>();
    private final Semaphore wakeUp = new Semaphore(0);
    /** Events may be pending that no claim has looked for yet: a commit woke the relay, the poll ran out, or a batch was abandoned. */
    private final AtomicBoolean mayBePending = new AtomicBoolean(true);
    private volatile boolean closed;
    private volatile long lingerNanos;
    private Thread relaying;

    /** A relay to in-process listeners only (the embedded default). */
    public OutboxRelay(DataSource dataSource, Duration interval, int batchSize) {
        this(dataSource, interval, batchSize, DEFAULT_IN_FLIGHT, batch -> CompletableFuture.completedFuture(null));
    }

    /** A relay that hands each batch to {@code sink} (e.g. Kafka) before the in-process listeners. */
    public OutboxRelay(DataSource dataSource, Duration interval, int batchSize, Sink sink) {
        this(dataSource, interval, batchSize, DEFAULT_IN_FLIGHT, sink);
    }

    /**
     * @param interval how often to look for events when not {@linkplain #wake() woken}: the backstop
     * @param inFlight at most this many batches out at once (each holds a pool connection until marked)
     */
    public OutboxRelay(DataSource dataSource, Duration interval, int batchSize, int inFlight, Sink sink) {
        this.dataSource = requireNonNull(dataSource, "dataSource is null");
        this.interval = requireNonNull(interval, "interval is null");
        this.sink = requireNonNull(sink, "sink is null");
        if (batchSize < 1 || inFlight < 1) {
            throw new IllegalArgumentException("batchSize and inFlight must be positive: %d, %d".formatted(batchSize, inFlight));
        }
        this.batchSize = batchSize;
        this.inFlight = inFlight;
    }

    /** Adds a listener; it sees every event committed from now on (and older pending ones). */
    public void subscribe(Consumer<DispatchedEvent> listener) {
        listeners.add(requireNonNull(listener, "listener is null"));
    }

    /**
     * Claims at most once per {@code linger} when woken by commits (not after a full batch, whose
     * followers are claimed at once): events then wait up to {@code linger} longer, and at low
     * rates one claim carries the events of many commits. Zero (the default) claims on every wake-up.
     */
    public OutboxRelay lingering(Duration linger) {
        if (linger.isNegative()) {
            throw new IllegalArgumentException("linger must not be negative: " + linger);
        }
        this.lingerNanos = linger.toNanos();
        return this;
    }

    /** Tells the relay that events were committed, so it looks now rather than at its next poll. Cheap; any thread. */
    public void wake() {
        mayBePending.set(true);
        signal();
    }

    /** Wakes the relay thread without a reason to claim (an acknowledgement: the oldest batch may be finished). */
    private void signal() {
        if (wakeUp.availablePermits() == 0) {
            wakeUp.release();
        }
    }

    public OutboxRelay start() {
        relaying = Thread.ofPlatform().name("outbox-relay").daemon().start(this::run);
        return this;
    }

    private void run() {
        Deque<Batch> out = new ArrayDeque<>();
        // Whether the last claim filled its batch: then more events are waiting behind it.
        boolean lastFull = false;
        long lastClaim = System.nanoTime() - lingerNanos;
        try {
            while (!closed) {
                try {
                    Batch oldest = out.peekFirst();
                    if (oldest != null && oldest.acknowledged().isDone()) {
                        finish(out.removeFirst());
                        continue;
                    }
                    // Claim only when events may be waiting (a claim that found none costs a round trip and a
                    // transaction; acknowledgements used to trigger one each): after a full batch, or once a
                    // commit, the poll or a failure said so since the last claim began.
                    long timeout = interval.toNanos();
                    if (out.size() < inFlight && (lastFull || mayBePending.get())) {
                        long early = lastFull ? 0 : lingerNanos - (System.nanoTime() - lastClaim);
                        if (early <= 0) {
                            mayBePending.set(false);
                            lastClaim = System.nanoTime();
                            Optional<Batch> sent = claimAndSend();
                            lastFull = sent.isPresent() && sent.get().events().size() == batchSize;
                            if (sent.isPresent()) {
                                out.addLast(sent.get());
                            }
                            continue;
                        }
                        // Lingering: claim once the linger since the last claim has passed (or on an acknowledgement).
                        timeout = Math.min(timeout, early);
                    }
                    // Nothing to finish or claim now: wait for an acknowledgement, a commit, the linger or the poll.
                    if (wakeUp.tryAcquire(timeout, TimeUnit.NANOSECONDS)) {
                        wakeUp.drainPermits();
                    } else {
                        mayBePending.set(true);
                    }
                } catch (RuntimeException e) {
                    abandon(out, true);
                    lastFull = false;
                    mayBePending.set(true);
                    LOG.warn("Outbox relay failed; sending again from the oldest pending event: {}", e.getMessage());
                    Thread.sleep(interval.multipliedBy(10));
                }
            }
        } catch (InterruptedException e) {
            // closing
        } finally {
            abandon(out, !out.isEmpty());
        }
    }

    /** Delivers one batch and waits for it; returns how many events it delivered. */
    public int relayOnce() {
        Optional<Batch> sent = claimAndSend();
        if (sent.isEmpty()) {
            return 0;
        }
        try {
            finish(sent.get());
        } catch (RuntimeException e) {
            sink.reset();
            throw e;
        }
        return sent.get().events().size();
    }

    /** Claims the next pending events in their own transaction and hands them to the sink; empty when there are none. */
    private Optional<Batch> claimAndSend() {
        Connection connection = null;
        try {
            connection = dataSource.getConnection();
            connection.setAutoCommit(false);
            List<DispatchedEvent> events = new ArrayList<>();
            try (PreparedStatement claim = connection.prepareStatement(CLAIM)) {
                claim.setInt(1, batchSize);
                try (ResultSet rs = claim.executeQuery()) {
                    while (rs.next()) {
                        events.add(new DispatchedEvent(rs.getLong(1), (UUID) rs.getObject(2), rs.getString(3), rs.getString(4),
                                (UUID) rs.getObject(5), rs.getTimestamp(6).toInstant(), rs.getString(7)));
                    }
                }
            }
            if (events.isEmpty()) {
                connection.commit();
                connection.close();
                return Optional.empty();
            }
            List<DispatchedEvent> batch = List.copyOf(events);
            CompletableFuture<Void> acknowledged = sink.send(batch);
            acknowledged.whenComplete((ignored, error) -> signal());
            return Optional.of(new Batch(connection, batch, acknowledged));
        } catch (SQLException | RuntimeException e) {
            rollBack(connection);
            throw e instanceof SQLException ? new IllegalStateException("Cannot claim outbox events: " + e.getMessage(), e) : (RuntimeException) e;
        }
    }

    /** The oldest batch out: waits for its acknowledgement, hands it to the listeners, marks it dispatched and commits. */
    private void finish(Batch batch) {
        Connection connection = batch.connection();
        try {
            try {
                batch.acknowledged().join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException cause ? cause : e;
            }
            for (DispatchedEvent event : batch.events()) {
                for (Consumer<DispatchedEvent> listener : listeners) {
                    listener.accept(event);
                }
            }
            // A mark lost in a crash only sends its batch again (at least once): its commit need not wait for the fsync. The
            // setting goes with the mark, one round trip: on a loaded machine each round trip is what a batch costs.
            try (PreparedStatement mark = connection.prepareStatement(
                    "SET LOCAL synchronous_commit = off; UPDATE outbox SET dispatched_at = now() WHERE seq = ANY (?)")) {
                mark.setArray(1, connection.createArrayOf("bigint", batch.events().stream().map(DispatchedEvent::seq).toArray()));
                mark.executeUpdate();
            }
            connection.commit();
            connection.close();
        } catch (SQLException | RuntimeException e) {
            rollBack(connection);
            throw e instanceof SQLException ? new IllegalStateException("Cannot mark outbox events dispatched: " + e.getMessage(), e)
                    : (RuntimeException) e;
        }
    }

    /**
     * Rolls back every batch still out, so their events are claimed again from the oldest; resets the sink first, so
     * nothing of them it still holds can land after their resend.
     */
    private void abandon(Deque<Batch> out, boolean resetSink) {
        if (resetSink) {
            try {
                sink.reset();
            } catch (RuntimeException e) {
                LOG.warn("Resetting the outbox sink failed: {}", e.getMessage());
            }
        }
        while (!out.isEmpty()) {
            rollBack(out.removeFirst().connection());
        }
    }

    private static void rollBack(Connection connection) {
        if (connection == null) {
            return;
        }
        try (connection) {
            connection.rollback();
        } catch (SQLException e) {
            LOG.warn("Cannot roll back an outbox claim (its connection is dropped, which releases it): {}", e.getMessage());
        }
    }

    /** Events not yet delivered, for the backlog gauge. */
    public long pending() {
        try (Connection connection = dataSource.getConnection();
                PreparedStatement count = connection.prepareStatement("SELECT count(*) FROM outbox WHERE dispatched_at IS NULL");
                ResultSet rs = count.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            return -1;
        }
    }

    /** Stops relaying; batches still out are rolled back (left pending, sent again by the next relay). */
    @Override
    public void close() {
        closed = true;
        if (relaying != null) {
            relaying.interrupt();
            try {
                relaying.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Where batches go before they are marked dispatched: an event engine outside the process. Batches are sent one after
     * the other from one thread; the engine keeps them in that order.
     */
    @FunctionalInterface
    public interface Sink {
        /**
         * Starts sending {@code batch}, after every batch sent before it. The future completes when every event of the
         * batch is durably accepted; exceptionally to leave the batch pending (it is sent again: at least once).
         */
        CompletableFuture<Void> send(List<DispatchedEvent> batch);

        /**
         * Called after a failure, before anything is sent again: every batch sent and not yet marked is about to be sent
         * again from its first event. An engine drops what it still holds of them (e.g. a new Kafka producer).
         */
        default void reset() {
        }
    }

    /**
     * A CloudEvents 1.0 event as delivered.
     *
     * @param data the event's JSON data
     */
    public record DispatchedEvent(long seq, UUID id, String type, String subject, UUID tenantId, Instant time, String data) {
    }

    /** A claimed batch out at the sink: its transaction holds the rows' locks until it is marked or rolled back. */
    private record Batch(Connection connection, List<DispatchedEvent> events, CompletableFuture<Void> acknowledged) {
    }
}
