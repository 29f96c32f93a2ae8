package io.somastack.store;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import org.jdbi.v3.core.Handle;

/**
 * The transaction a unit of {@link GroupCommit} work runs in. Audit entries and outbox events
 * are collected and written in bulk when the batch commits, in the same transaction as the
 * work's own statements. Not thread-safe: confined to the committer thread.
 */
public final class Tx {
    private final Handle handle;
    final List<AuditEntry> audits = new ArrayList<>();
    final List<OutboxEvent> events = new ArrayList<>();

    Tx(Handle handle) {
        this.handle = requireNonNull(handle, "handle is null");
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
}
