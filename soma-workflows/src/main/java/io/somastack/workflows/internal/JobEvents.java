package io.somastack.workflows.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import io.somastack.store.GroupCommit;
import io.somastack.store.Tx;
import io.somastack.workflows.JobEvent;
import java.sql.Timestamp;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.jdbi.v3.core.Jdbi;

/**
 * A job's durable event stream: each event takes the job's next sequence number and is stored
 * (group commit, durable) before followers are woken, so what a client saw can be replayed byte
 * for byte. Followers read from PostgreSQL, which also serves jobs another node runs. Thread-safe.
 */
public final class JobEvents {
    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final Clock clock;
    private final Object signal = new Object();

    public JobEvents(Jdbi jdbi, GroupCommit commit, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Stores one event in its own durable transaction, then wakes followers. */
    public void append(TenantId tenant, UUID jobId, String type, Map<String, ?> data) {
        commit.execute(tx -> {
            insert(tx, tenant, jobId, type, data);
            return null;
        });
        wake();
    }

    /** Stores one event in {@code tx} (the caller wakes followers after commit with {@link #wake()}). */
    public void insert(Tx tx, TenantId tenant, UUID jobId, String type, Map<String, ?> data) {
        int seq = tx.handle().createQuery("UPDATE workflow_jobs SET last_seq = last_seq + 1 WHERE id = :job AND tenant_id = :tenant RETURNING last_seq")
                .bind("job", jobId).bind("tenant", tenant.value()).mapTo(Integer.class).one();
        tx.handle().createUpdate("""
                INSERT INTO workflow_job_events (job_id, seq, tenant_id, type, data, created_at) VALUES (:job, :seq, :tenant, :type, :data, :at)""")
                .bind("job", jobId).bind("seq", seq).bind("tenant", tenant.value()).bind("type", type).bind("data", Json.text(data))
                .bind("at", Timestamp.from(clock.now())).execute();
    }

    public void wake() {
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    public List<JobEvent> read(TenantId tenant, UUID jobId, int after, int limit) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT seq, type, data, created_at FROM workflow_job_events
                WHERE tenant_id = :tenant AND job_id = :job AND seq > :after ORDER BY seq LIMIT :limit""")
                .bind("tenant", tenant.value()).bind("job", jobId).bind("after", after).bind("limit", limit)
                .map((rs, ctx) -> new JobEvent(jobId, rs.getInt("seq"), rs.getString("type"), rs.getString("data"),
                        rs.getTimestamp("created_at").toInstant())).list());
    }

    /**
     * Delivers the job's events after {@code after} in order until its terminal event; returns
     * early when {@code sink} throws (the client left).
     */
    public void follow(TenantId tenant, UUID jobId, int after, Consumer<JobEvent> sink) throws InterruptedException {
        int last = after;
        while (true) {
            List<JobEvent> next = read(tenant, jobId, last, 500);
            for (JobEvent event : next) {
                sink.accept(event);
                last = event.seq();
                if (event.terminal()) {
                    return;
                }
            }
            if (next.isEmpty()) {
                synchronized (signal) {
                    // Another node's job wakes nobody here: the timeout turns waiting into polling.
                    signal.wait(250);
                }
            }
        }
    }
}
