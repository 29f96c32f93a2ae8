package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.StoredEvent;
import io.somastack.kernel.TenantId;
import io.somastack.tools.ToolCancellation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;

/**
 * A run in progress on this node: its events so far (each already stored), which clients
 * follow, and its cancellation flag. Events are numbered here, and published to followers in
 * sequence order whatever order their commits end in (a number whose commit failed is skipped).
 * Deltas may be deferred — numbered but neither stored nor published — while no client streams
 * the run; the next stored event takes them into its transaction. Thread-safe.
 */
public final class LiveRun {
    private final UUID id;
    private final TenantId tenant;
    private final List<StoredEvent> events = new ArrayList<>();
    /** Stored events waiting for an earlier number's commit, by number. */
    private final TreeMap<Integer, StoredEvent> waiting = new TreeMap<>();
    /** Numbers whose commit failed: never published. */
    private final Set<Integer> skipped = new HashSet<>();
    /** Deltas numbered but not stored yet (no client streams the run). */
    private final List<StoredEvent> deferred = new ArrayList<>();
    private int published;
    private int streamers;
    private final AtomicReference<String> cancelledBy = new AtomicReference<>();
    /** The tool call under way, which a cancel stops at once. */
    private final AtomicReference<ToolCancellation> toolCall = new AtomicReference<>();
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

    /**
     * Numbers {@code event} and keeps it unstored, when no client streams the run; false (nothing
     * numbered) when one does, and the event must be stored at once.
     */
    synchronized boolean defer(IntFunction<StoredEvent> event) {
        if (streamers > 0) {
            return false;
        }
        deferred.add(event.apply(nextSeq++));
        return true;
    }

    /** The deferred events, handed over to be stored, and the number of the event stored after them. */
    synchronized EventLog.Next next() {
        EventLog.Next next = new EventLog.Next(deferred, nextSeq++);
        deferred.clear();
        return next;
    }

    /** The deferred events, handed over to be stored (none numbered). */
    synchronized List<StoredEvent> drain() {
        List<StoredEvent> batch = List.copyOf(deferred);
        deferred.clear();
        return batch;
    }

    /** A client streams the run from now on: deltas are stored (and sent) as they come. Undo with {@link #streamerGone()}. */
    public synchronized void streamerCame() {
        streamers++;
    }

    public synchronized void streamerGone() {
        streamers--;
    }

    /** Makes a stored event visible to followers (once every earlier number is published or skipped). */
    public void publish(StoredEvent event) {
        publish(List.of(event));
    }

    /** Makes stored events visible to followers, in sequence order. */
    public synchronized void publish(List<StoredEvent> stored) {
        stored.forEach(event -> waiting.put(event.seq(), event));
        release();
    }

    /** Numbers whose commit failed: they are passed over. */
    synchronized void skip(List<Integer> lost) {
        skipped.addAll(lost);
        release();
    }

    private void release() {
        while (true) {
            int next = published + 1;
            StoredEvent event = waiting.remove(next);
            if (event != null) {
                events.add(event);
                if (event.terminal()) {
                    ended = true;
                }
            } else if (!skipped.remove(next)) {
                break;
            }
            published = next;
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
        return published;
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
