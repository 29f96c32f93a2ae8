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
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Each run's events, stored durably (a group commit, so fsync'd with whatever else commits at
 * that moment) before they are published to the clients following the run. Deltas nobody
 * streams wait for the next stored event's commit, so a run's commits do not grow with its
 * deltas unless a client watches them come. Thread-safe.
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

    /**
     * Stores {@code event} as the run's next, then publishes it; a delta ({@code model.delta},
     * {@code tool.delta}) while no client streams the run is only numbered, and stored with the
     * next event that is stored (see {@link LiveRun}). Every event is stored before it is published.
     */
    public StoredEvent append(LiveRun run, RunEvent event) {
        if (deferrable(event)) {
            StoredEvent[] kept = new StoredEvent[1];
            if (run.defer(seq -> kept[0] = stored(run, seq, event))) {
                return kept[0];
            }
        }
        Next next = run.next();
        List<StoredEvent> batch = new ArrayList<>(next.deferred());
        batch.add(stored(run, next.seq(), event));
        store(run, batch);
        return batch.getLast();
    }

    /** Stores and publishes the run's deferred events, if any (a client starts streaming the run). */
    public void flush(LiveRun run) {
        List<StoredEvent> batch = run.drain();
        if (!batch.isEmpty()) {
            store(run, batch);
        }
    }

    private void store(LiveRun run, List<StoredEvent> batch) {
        try {
            commit.execute(tx -> {
                batch.forEach(stored -> insert(tx, run.tenant(), stored));
                return null;
            });
        } catch (RuntimeException e) {
            run.skip(batch.stream().map(StoredEvent::seq).toList());
            throw e;
        }
        run.publish(batch);
    }

    /**
     * The run's next number, and the deferred events before it, handed over to be written in a
     * transaction ({@link #insert}). Take it outside the transaction's work (or once, if the work
     * must make it): a group commit may run the work again, and must write the same events.
     */
    public record Next(List<StoredEvent> deferred, int seq) {
        public Next {
            deferred = List.copyOf(deferred);
        }
    }

    public Next next(LiveRun run) {
        return run.next();
    }

    /**
     * Writes {@code next}'s deferred events and then {@code event} under {@code next}'s number in
     * {@code tx}; returns them, for the caller to publish once {@code tx} committed
     * ({@link LiveRun#publish(List)}), or to pass over when it failed ({@link #lost}).
     */
    public List<StoredEvent> insert(Tx tx, LiveRun run, Next next, RunEvent event) {
        List<StoredEvent> batch = new ArrayList<>(next.deferred());
        batch.add(stored(run, next.seq(), event));
        batch.forEach(stored -> insert(tx, run.tenant(), stored));
        return batch;
    }

    /** A {@link Next} whose transaction did not commit: followers pass over its numbers. */
    public void lost(LiveRun run, Next next) {
        List<Integer> seqs = new ArrayList<>(next.deferred().stream().map(StoredEvent::seq).toList());
        seqs.add(next.seq());
        run.skip(seqs);
    }

    private StoredEvent stored(LiveRun run, int seq, RunEvent event) {
        return new StoredEvent(run.id(), seq, event.type(), Json.text(event.data()), now());
    }

    private static boolean deferrable(RunEvent event) {
        return event instanceof RunEvent.ModelDelta || event instanceof RunEvent.ToolDelta;
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
