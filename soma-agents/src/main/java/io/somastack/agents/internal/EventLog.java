package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.RunEvent;
import io.somastack.agents.StoredEvent;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import io.somastack.store.GroupCommit;
import io.somastack.store.Tx;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Each run's events, stored durably (a group commit, so fsync'd with whatever else commits at
 * that moment) before they are published to the clients following the run. Thread-safe.
 */
public final class EventLog {
    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final Clock clock;

    public EventLog(Jdbi jdbi, GroupCommit commit, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Stores {@code event} as the run's next, then publishes it. */
    public StoredEvent append(LiveRun run, RunEvent event) {
        synchronized (run.appendLock) {
            StoredEvent stored = commit.execute(tx -> insert(tx, run, event));
            run.publish(stored);
            return stored;
        }
    }

    /** Stores {@code event} as the run's next in {@code tx} (publish it once {@code tx} committed). */
    public StoredEvent insert(Tx tx, LiveRun run, RunEvent event) {
        StoredEvent stored = new StoredEvent(run.id(), run.takeSeq(), event.type(), Json.text(event.data()), now());
        insert(tx, run.tenant(), stored);
        return stored;
    }

    /** Stores {@code event} after the last stored event of a run no node is running (the sweeper's). */
    public StoredEvent appendOrphan(Tx tx, TenantId tenant, UUID runId, RunEvent event) {
        int seq = tx.handle().createQuery("SELECT COALESCE(max(seq), 0) + 1 FROM agent_run_events WHERE run_id = :run")
                .bind("run", runId).mapTo(Integer.class).one();
        StoredEvent stored = new StoredEvent(runId, seq, event.type(), Json.text(event.data()), now());
        insert(tx, tenant, stored);
        return stored;
    }

    /** The stored events of the tenant's run after {@code seq}, in order, at most {@code limit}. */
    public List<StoredEvent> read(TenantId tenant, UUID runId, int seq, int limit) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT seq, type, data, at FROM agent_run_events
                WHERE tenant_id = :tenant AND run_id = :run AND seq > :seq ORDER BY seq LIMIT :limit""")
                .bind("tenant", tenant.value()).bind("run", runId).bind("seq", seq).bind("limit", limit)
                .map((rs, ctx) -> new StoredEvent(runId, rs.getInt("seq"), rs.getString("type"), rs.getString("data"),
                        rs.getTimestamp("at").toInstant()))
                .list());
    }

    private static void insert(Tx tx, TenantId tenant, StoredEvent stored) {
        tx.handle().createUpdate("""
                INSERT INTO agent_run_events (run_id, seq, tenant_id, type, data, at) VALUES (:run, :seq, :tenant, :type, :data, :at)""")
                .bind("run", stored.runId()).bind("seq", stored.seq()).bind("tenant", tenant.value()).bind("type", stored.type())
                .bind("data", stored.dataJson()).bind("at", Timestamp.from(stored.at())).execute();
    }

    private Instant now() {
        return clock.now();
    }
}
