package io.somastack.store;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import java.sql.Timestamp;
import java.util.List;
import org.jdbi.v3.core.Handle;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * The transactional outbox: events are rows written in the same transaction as the state
 * change they report, so an event exists if and only if its change committed. A relay
 * (in-process now, Kafka in a cluster) reads pending rows in {@code seq} order and marks
 * them dispatched. Thread-safe.
 */
public final class Outbox {
    public static final String SOURCE = "urn:somastack";

    private final Clock clock;
    private final Ids ids;

    public Outbox(Clock clock, Ids ids) {
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    public void appendAll(Handle handle, List<OutboxEvent> events) {
        if (events.isEmpty()) {
            return;
        }
        Timestamp now = Timestamp.from(clock.now());
        try (PreparedStatement insert = handle.getConnection().prepareStatement("""
                INSERT INTO outbox (id, type, source, subject, tenant_id, time, data) VALUES (?, ?, ?, ?, ?, ?, CAST(? AS jsonb))""")) {
            for (OutboxEvent event : events) {
                insert.setObject(1, ids.next());
                insert.setString(2, event.type());
                insert.setString(3, SOURCE);
                insert.setString(4, event.subject());
                insert.setObject(5, event.tenantId().map(id -> id.value()).orElse(null));
                insert.setTimestamp(6, now);
                insert.setString(7, Json.text(event.data()));
                insert.addBatch();
            }
            insert.executeBatch();
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot write outbox events: " + e.getMessage(), e);
        }
    }
}
