package io.somastack.store;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A cache of rows that PostgreSQL tells every node about: a trigger {@code NOTIFY}s a channel on
 * every change, each node drops the entries the payload names, and the cache is used only while
 * the node's listener {@link Notifications#isLive() is live} (its last answered ping is under
 * 0.7 s old). So a change committed on any node, or in SQL by an operator, is obeyed on every node
 * within 1 s even when a notification is lost with its connection. Entries also expire after a
 * TTL, a backstop against anything else. What {@code load} answers is cached; what it throws is
 * not. Thread-safe.
 *
 * <pre>{@code
 * NotifiedCache<UUID, Principal> cache = NotifiedCache.listening(notifications, "soma_principals",
 *         payload -> principal -> principal.keyId().toString().equals(payload), Duration.ofSeconds(30), 100_000);
 * Principal principal = cache.get(keyId, () -> readFromDatabase(keyId));
 * }</pre>
 */
public final class NotifiedCache<K, V> {
    private final Optional<Notifications> notifications;
    private final Duration ttl;
    private final int maxEntries;
    private final ConcurrentHashMap<K, Entry<V>> entries = new ConcurrentHashMap<>();
    // Bumped by every invalidation, so a lookup that read the database before a change committed
    // does not store its stale answer after the change's notification emptied the entry.
    private final AtomicLong generation = new AtomicLong();
    private final Set<K> filling = ConcurrentHashMap.newKeySet();

    private record Entry<V>(V value, long expiresAtNanos) {
    }

    private NotifiedCache(Optional<Notifications> notifications, Duration ttl, int maxEntries) {
        this.notifications = notifications;
        this.ttl = requireNonNull(ttl, "ttl is null");
        this.maxEntries = maxEntries;
    }

    /**
     * A cache kept fresh by {@code notifications} on {@code channel}: a payload drops the entries
     * whose value {@code dropped.apply(payload)} accepts; entries live at most {@code ttl}; the
     * cache is emptied when it holds {@code maxEntries}.
     */
    public static <K, V> NotifiedCache<K, V> listening(Notifications notifications, String channel,
            Function<String, Predicate<V>> dropped, Duration ttl, int maxEntries) {
        requireNonNull(dropped, "dropped is null");
        NotifiedCache<K, V> cache = new NotifiedCache<>(Optional.of(notifications), ttl, maxEntries);
        notifications.listen(channel, payload -> cache.invalidate(dropped.apply(payload)), cache::clear);
        return cache;
    }

    /** No cache: every lookup loads. */
    public static <K, V> NotifiedCache<K, V> none() {
        return new NotifiedCache<>(Optional.empty(), Duration.ZERO, 0);
    }

    /** The cached value for {@code key}, else {@code load}'s answer (cached when the listener is live). */
    public V get(K key, Supplier<V> load) {
        return cached(key).orElseGet(() -> fill(key, load));
    }

    /** The value cached for {@code key}, if the listener is live and it has not expired. */
    public Optional<V> cached(K key) {
        if (!live()) {
            return Optional.empty();
        }
        Entry<V> entry = entries.get(key);
        return entry != null && System.nanoTime() - entry.expiresAtNanos() < 0 ? Optional.of(entry.value()) : Optional.empty();
    }

    /**
     * Caches {@code load}'s answer for {@code key} on a virtual thread of its own, once at a time per
     * key: for a caller whose own read must not be cached (one made inside a transaction that may
     * still write the rows, or roll back), so {@code load} reads committed rows only.
     */
    public void fillInBackground(K key, Supplier<V> load) {
        if (live() && filling.add(key)) {
            Thread.ofVirtual().name("soma-cache-fill").start(() -> {
                try {
                    fill(key, load);
                } catch (RuntimeException e) {
                    // Not cached: the next caller reads for itself and tries again.
                } finally {
                    filling.remove(key);
                }
            });
        }
    }

    private boolean live() {
        return notifications.isPresent() && notifications.get().isLive();
    }

    private V fill(K key, Supplier<V> load) {
        if (!live()) {
            return load.get();
        }
        long before = generation.get();
        long now = System.nanoTime();
        V value = requireNonNull(load.get(), "a cached value is null");
        if (entries.size() >= maxEntries) {
            clear();
        }
        entries.put(key, new Entry<>(value, now + ttl.toNanos()));
        if (generation.get() != before) {
            // A change committed while we read: our answer may predate it.
            entries.remove(key);
        }
        return value;
    }

    /** Drops the entries whose value {@code which} accepts. */
    public void invalidate(Predicate<V> which) {
        generation.incrementAndGet();
        entries.values().removeIf(entry -> which.test(entry.value()));
    }

    /** Drops every entry. */
    public void clear() {
        generation.incrementAndGet();
        entries.clear();
    }
}
