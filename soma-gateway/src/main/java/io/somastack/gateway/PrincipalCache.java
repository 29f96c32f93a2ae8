package io.somastack.gateway;

import io.somastack.store.Notifications;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * API key (hash) or session key id → {@link Principal}, so a request does not read PostgreSQL
 * to learn who is calling. Correctness rests on the database telling every node: triggers on
 * {@code api_keys} and {@code tenants} (migration V2_2) {@code NOTIFY soma_principals} with
 * {@code key:<id>} or {@code tenant:<id>} on every update or delete, and each node drops the
 * matching entries. The cache is used only while the node's listener {@link
 * Notifications#isLive() is live} (its last answered ping is under 0.7 s old), so a revoked key,
 * a suspended or re-homed tenant or a changed budget is refused or re-read on every node within
 * 1 s even when a notification is lost with its connection. Entries also expire after {@link
 * #TTL}, a backstop against anything else. Only successful lookups are cached: unknown and revoked
 * keys read the database every time. Thread-safe.
 */
final class PrincipalCache {
    /** Longest an entry is trusted without a notification; a backstop, not the revocation bound. */
    static final Duration TTL = Duration.ofSeconds(30);
    /** Most entries kept; the cache is emptied when full (a rare event: one entry per live key). */
    static final int MAX_ENTRIES = 100_000;
    static final String CHANNEL = "soma_principals";

    private final Optional<Notifications> notifications;
    private final ConcurrentHashMap<Object, Entry> entries = new ConcurrentHashMap<>();
    // Bumped by every invalidation, so a lookup that read the database before a change committed
    // does not store its stale answer after the change's notification emptied the entry.
    private final AtomicLong generation = new AtomicLong();

    private record Entry(Principal principal, long expiresAtNanos) {
    }

    private PrincipalCache(Optional<Notifications> notifications) {
        this.notifications = notifications;
        notifications.ifPresent(listener -> listener.listen(CHANNEL, this::invalidate, this::clear));
    }

    /** A cache kept fresh by {@code notifications}. */
    static PrincipalCache listening(Notifications notifications) {
        return new PrincipalCache(Optional.of(notifications));
    }

    /** No cache: every lookup reads the database. */
    static PrincipalCache none() {
        return new PrincipalCache(Optional.empty());
    }

    /** The cached principal for {@code key}, else {@code load}'s answer (cached when it is one). */
    Principal get(Object key, Supplier<Principal> load) {
        if (notifications.isEmpty() || !notifications.get().isLive()) {
            return load.get();
        }
        long now = System.nanoTime();
        Entry entry = entries.get(key);
        if (entry != null && now - entry.expiresAtNanos() < 0) {
            return entry.principal();
        }
        long before = generation.get();
        Principal principal = load.get();
        if (entries.size() >= MAX_ENTRIES) {
            clear();
        }
        entries.put(key, new Entry(principal, now + TTL.toNanos()));
        if (generation.get() != before) {
            // A change committed while we read: our answer may predate it.
            entries.remove(key);
        }
        return principal;
    }

    /** Drops the entries a {@code key:<id>} or {@code tenant:<id>} payload names (anything else: all). */
    void invalidate(String payload) {
        generation.incrementAndGet();
        try {
            if (payload.startsWith("key:")) {
                UUID keyId = UUID.fromString(payload.substring(4));
                entries.values().removeIf(entry -> entry.principal().keyId().equals(keyId));
                return;
            }
            if (payload.startsWith("tenant:")) {
                UUID tenantId = UUID.fromString(payload.substring(7));
                entries.values().removeIf(entry -> entry.principal().tenant().id().value().equals(tenantId));
                return;
            }
        } catch (IllegalArgumentException e) {
            // not a UUID: fall through and forget everything
        }
        clear();
    }

    void clear() {
        generation.incrementAndGet();
        entries.clear();
    }
}
