package io.somastack.store;

import static java.util.Objects.requireNonNull;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers outbox events to in-process listeners, in {@code seq} order, at least once: a
 * batch is locked with {@code FOR UPDATE SKIP LOCKED} (so nodes sharing the database never
 * deliver the same row twice at once), handed to every listener, and marked dispatched in
 * the same transaction. A listener that throws leaves the batch pending; it is retried on
 * the next poll. In a cluster a {@link Sink} (soma-kafka's {@code KafkaSink}) first takes
 * each batch to Kafka; the batch is marked only after the sink returned, so a sink that
 * throws leaves it pending too. Thread-safe.
 */
public final class OutboxRelay implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutboxRelay.class);
    private static final String CLAIM = """
            SELECT seq, id, type, subject, tenant_id, time, data::text FROM outbox
            WHERE dispatched_at IS NULL ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED""";

    private final DataSource dataSource;
    private final Duration interval;
    private final int batchSize;
    private final Sink sink;
    private final List<Consumer<DispatchedEvent>> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean closed;
    private Thread poller;

    /** A relay to in-process listeners only (the embedded default). */
    public OutboxRelay(DataSource dataSource, Duration interval, int batchSize) {
        this(dataSource, interval, batchSize, batch -> { });
    }

    /** A relay that hands each batch to {@code sink} (e.g. Kafka) before the in-process listeners. */
    public OutboxRelay(DataSource dataSource, Duration interval, int batchSize, Sink sink) {
        this.dataSource = requireNonNull(dataSource, "dataSource is null");
        this.interval = requireNonNull(interval, "interval is null");
        this.batchSize = batchSize;
        this.sink = requireNonNull(sink, "sink is null");
    }

    /** Adds a listener; it sees every event committed from now on (and older pending ones). */
    public void subscribe(Consumer<DispatchedEvent> listener) {
        listeners.add(requireNonNull(listener, "listener is null"));
    }

    public OutboxRelay start() {
        poller = Thread.ofPlatform().name("outbox-relay").daemon().start(() -> {
            while (!closed) {
                try {
                    if (relayOnce() < batchSize) {
                        Thread.sleep(interval);
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    LOG.warn("Outbox relay failed; retrying: {}", e.getMessage());
                    try {
                        Thread.sleep(interval.multipliedBy(10));
                    } catch (InterruptedException interrupted) {
                        return;
                    }
                }
            }
        });
        return this;
    }

    /** Delivers one batch; returns how many events it delivered. */
    public int relayOnce() {
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            try {
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
                if (!events.isEmpty()) {
                    sink.deliver(events);
                }
                for (DispatchedEvent event : events) {
                    for (Consumer<DispatchedEvent> listener : listeners) {
                        listener.accept(event);
                    }
                }
                if (!events.isEmpty()) {
                    try (PreparedStatement mark = connection.prepareStatement(
                            "UPDATE outbox SET dispatched_at = now() WHERE seq = ANY (?)")) {
                        mark.setArray(1, connection.createArrayOf("bigint", events.stream().map(DispatchedEvent::seq).toArray()));
                        mark.executeUpdate();
                    }
                }
                connection.commit();
                return events.size();
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot relay outbox events: " + e.getMessage(), e);
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

    @Override
    public void close() {
        closed = true;
        if (poller != null) {
            poller.interrupt();
        }
    }

    /**
     * Where batches go before they are marked dispatched: an event engine outside the process.
     * {@link #deliver} returns only when every event of the batch is durably accepted, in order;
     * it throws to leave the whole batch pending (it is delivered again: at least once).
     */
    @FunctionalInterface
    public interface Sink {
        void deliver(List<DispatchedEvent> batch);
    }

    /**
     * A CloudEvents 1.0 event as delivered.
     *
     * @param data the event's JSON data
     */
    public record DispatchedEvent(long seq, UUID id, String type, String subject, UUID tenantId, Instant time, String data) {
    }
}
