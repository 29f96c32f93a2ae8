package io.somastack.gateway;

import io.somastack.store.NotifiedCache;
import io.somastack.store.Notifications;
import java.time.Duration;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * API key (hash) or session key id → {@link Principal}, so a request does not read PostgreSQL
 * to learn who is calling. Correctness rests on the database telling every node: triggers on
 * {@code api_keys} and {@code tenants} (migration V2_2) {@code NOTIFY soma_principals} with
 * {@code key:<id>} or {@code tenant:<id>} on every update or delete, and each node drops the
 * matching entries. The cache is used only while the node's listener {@link
 * Notifications#isLive() is live} (its last answered ping is under 0.7 s old), so a revoked key,
 * a suspended or re-homed tenant or a changed budget is refused or re-read on every node within
 * 1 s even when a notification is lost with its connection ({@link NotifiedCache}). Entries also
 * expire after {@link #TTL}, a backstop against anything else. Only successful lookups are cached:
 * unknown and revoked keys read the database every time. Thread-safe.
 */
final class PrincipalCache {
    /** Longest an entry is trusted without a notification; a backstop, not the revocation bound. */
    static final Duration TTL = Duration.ofSeconds(30);
    /** Most entries kept; the cache is emptied when full (a rare event: one entry per live key). */
    static final int MAX_ENTRIES = 100_000;
    static final String CHANNEL = "soma_principals";

    private final NotifiedCache<Object, Principal> entries;

    private PrincipalCache(NotifiedCache<Object, Principal> entries) {
        this.entries = entries;
    }

    /** A cache kept fresh by {@code notifications}. */
    static PrincipalCache listening(Notifications notifications) {
        return new PrincipalCache(NotifiedCache.listening(notifications, CHANNEL, PrincipalCache::named, TTL, MAX_ENTRIES));
    }

    /** No cache: every lookup reads the database. */
    static PrincipalCache none() {
        return new PrincipalCache(NotifiedCache.none());
    }

    /** The cached principal for {@code key}, else {@code load}'s answer (cached when it is one). */
    Principal get(Object key, Supplier<Principal> load) {
        return entries.get(key, load);
    }

    /** Drops the entries a {@code key:<id>} or {@code tenant:<id>} payload names (anything else: all). */
    void invalidate(String payload) {
        entries.invalidate(named(payload));
    }

    /** The principals a {@code key:<id>} or {@code tenant:<id>} payload names; all of them for anything else. */
    private static Predicate<Principal> named(String payload) {
        try {
            if (payload.startsWith("key:")) {
                UUID keyId = UUID.fromString(payload.substring(4));
                return principal -> principal.keyId().equals(keyId);
            }
            if (payload.startsWith("tenant:")) {
                UUID tenantId = UUID.fromString(payload.substring(7));
                return principal -> principal.tenant().id().value().equals(tenantId);
            }
        } catch (IllegalArgumentException e) {
            // not a UUID: forget everything
        }
        return principal -> true;
    }
}
