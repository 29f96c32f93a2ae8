package io.somastack.store;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import java.sql.Timestamp;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;

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
        PreparedBatch batch = handle.prepareBatch("""
                INSERT INTO outbox (id, type, source, subject, tenant_id, time, data)
                VALUES (:id, :type, :source, :subject, :tenant, :time, CAST(:data AS jsonb))""");
        Timestamp now = Timestamp.from(clock.now());
        for (OutboxEvent event : events) {
            batch.bind("id", ids.next()).bind("type", event.type()).bind("source", SOURCE).bind("subject", event.subject())
                    .bind("tenant", event.tenantId().map(id -> id.value()).orElse(null)).bind("time", now)
                    .bind("data", Json.text(event.data())).add();
        }
        batch.execute();
    }
}
