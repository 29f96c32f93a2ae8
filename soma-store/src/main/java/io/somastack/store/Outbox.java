package io.somastack.store;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

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

    /** Writes {@code events} inside the caller's transaction, in one statement. */
    public void appendAll(Handle handle, List<OutboxEvent> events) {
        if (events.isEmpty()) {
            return;
        }
        Insert insert = insert(handle.getConnection(), events);
        try (PreparedStatement statement = handle.getConnection().prepareStatement(insert.sql())) {
            insert.bind(statement, 1);
            statement.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot write outbox events: " + e.getMessage(), e);
        }
    }

    /**
     * {@code events} as one {@code INSERT} and its parameters, for a statement of the caller's
     * (a part of {@link AuditLog}'s append, so a transaction's audit entries and events are one
     * round trip). The rows are inserted in the list's order, so {@code seq} follows it.
     */
    Insert insert(Connection connection, List<OutboxEvent> events) {
        int n = events.size();
        UUID[] ids = new UUID[n];
        String[] types = new String[n];
        String[] subjects = new String[n];
        UUID[] tenants = new UUID[n];
        String[] data = new String[n];
        for (int i = 0; i < n; i++) {
            OutboxEvent event = events.get(i);
            ids[i] = this.ids.next();
            types[i] = event.type();
            subjects[i] = event.subject();
            tenants[i] = event.tenantId().map(id -> id.value()).orElse(null);
            data[i] = Json.text(event.data());
        }
        try {
            return new Insert("""
                    INSERT INTO outbox (id, type, source, subject, tenant_id, time, data)
                    SELECT e.id, e.type, ?, e.subject, e.tenant_id, ?, CAST(e.data AS jsonb)
                    FROM unnest(?::uuid[], ?::text[], ?::text[], ?::uuid[], ?::text[]) WITH ORDINALITY AS e(id, type, subject, tenant_id, data, n)
                    ORDER BY e.n""", List.of(SOURCE, Timestamp.from(clock.now()), connection.createArrayOf("uuid", ids),
                    connection.createArrayOf("text", types), connection.createArrayOf("text", subjects),
                    connection.createArrayOf("uuid", tenants), connection.createArrayOf("text", data)));
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot write outbox events: " + e.getMessage(), e);
        }
    }

    /** An {@code INSERT} of events and its parameters, in order. */
    record Insert(String sql, List<Object> parameters) {
        /** Binds the parameters from position {@code first}. */
        void bind(PreparedStatement statement, int first) throws SQLException {
            int position = first;
            for (Object parameter : parameters) {
                statement.setObject(position++, parameter);
            }
        }
    }
}
