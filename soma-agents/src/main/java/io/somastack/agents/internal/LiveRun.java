package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.StoredEvent;
import io.somastack.kernel.TenantId;
import io.somastack.tools.ToolCancellation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A run in progress on this node: its events so far (each already stored), which clients
 * follow, and its cancellation flag. Only the run's own thread appends. Thread-safe.
 */
public final class LiveRun {
    private final UUID id;
    private final TenantId tenant;
    private final List<StoredEvent> events = new ArrayList<>();
    private final AtomicReference<String> cancelledBy = new AtomicReference<>();
    /** The tool call under way, which a cancel stops at once. */
    private final AtomicReference<ToolCancellation> toolCall = new AtomicReference<>();
    /** Held while an event is numbered, stored and published, so events are published in sequence order. */
    final Object appendLock = new Object();
    private int nextSeq = 1;
    private boolean ended;

    public LiveRun(UUID id, TenantId tenant) {
        this.id = requireNonNull(id, "id is null");
        this.tenant = requireNonNull(tenant, "tenant is null");
    }

    public UUID id() {
        return id;
    }

    public TenantId tenant() {
        return tenant;
    }

    /** The sequence number the next event gets. */
    synchronized int takeSeq() {
        return nextSeq++;
    }

    /** Makes a stored event visible to followers. */
    public synchronized void publish(StoredEvent event) {
        events.add(event);
        if (event.terminal()) {
            ended = true;
        }
        notifyAll();
    }

    /**
     * The events after {@code seq}, waiting up to {@code wait} for one when there is none yet;
     * empty when the run ended (or nothing came in time).
     */
    public synchronized List<StoredEvent> after(int seq, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (lastSeq() <= seq && !ended) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return List.of();
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return events.stream().filter(event -> event.seq() > seq).toList();
    }

    private int lastSeq() {
        return events.isEmpty() ? 0 : events.getLast().seq();
    }

    public synchronized boolean ended() {
        return ended;
    }

    /** Asks the run to stop; {@code by} says who asked (a client, or the server shutting down). */
    public void cancel(String by) {
        cancelledBy.compareAndSet(null, by);
        ToolCancellation running = toolCall.get();
        if (running != null) {
            running.cancel();
        }
    }

    /** A tool call of this run starts: a cancel, also one that came just before, stops it. */
    ToolCancellation toolCallStarted() {
        ToolCancellation cancellation = new ToolCancellation();
        toolCall.set(cancellation);
        if (cancelledBy.get() != null) {
            cancellation.cancel();
        }
        return cancellation;
    }

    void toolCallEnded() {
        toolCall.set(null);
    }

    public Optional<String> cancelledBy() {
        return Optional.ofNullable(cancelledBy.get());
    }
}
