package io.somastack.store;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.jdbi.v3.core.Handle;

/**
 * The transaction a unit of {@link GroupCommit} work runs in. Audit entries and outbox events
 * are collected and written in bulk when the batch commits, in the same transaction as the
 * work's own statements; so is the {@link Deferred} work units add to (one multi-row insert for
 * the whole group instead of one statement per unit). Not thread-safe: confined to the committer
 * thread.
 */
public final class Tx {
    private final Handle handle;
    private final boolean shared;
    final List<AuditEntry> audits = new ArrayList<>();
    final List<OutboxEvent> events = new ArrayList<>();
    private final Map<Object, Deferred> deferred = new LinkedHashMap<>();

    Tx(Handle handle, boolean shared) {
        this.handle = requireNonNull(handle, "handle is null");
        this.shared = shared;
    }

    public Handle handle() {
        return handle;
    }

    public void audit(AuditEntry entry) {
        audits.add(requireNonNull(entry, "entry is null"));
    }

    public void publish(OutboxEvent event) {
        events.add(requireNonNull(event, "event is null"));
    }

    /**
     * True when other units of work share this transaction (a group of more than one). A unit
     * alone never shares it: that is where {@link GroupCommit} retries the units of a group that
     * failed, so a writer that defers work can answer exactly there what it could only presume in
     * a group (e.g. whether an idempotency key was new).
     */
    public boolean shared() {
        return shared;
    }

    /**
     * The deferred work of {@code owner} in this transaction, made by {@code create} on first use.
     * Every unit of the group adds to the same one; it runs once, after the last unit's work and
     * before the audit entries and outbox events are written. If it throws, the transaction fails
     * and {@link GroupCommit} retries the units in smaller groups, down to each alone.
     */
    @SuppressWarnings("unchecked")
    public <T extends Deferred> T deferred(Object owner, Supplier<T> create) {
        return (T) deferred.computeIfAbsent(requireNonNull(owner, "owner is null"), ignored -> create.get());
    }

    void runDeferred() {
        for (Deferred work : deferred.values()) {
            work.run(handle);
        }
    }

    /** Work collected from the units of a group and run once before it commits (see {@link #deferred}). */
    public interface Deferred {
        void run(Handle handle);
    }
}
