package io.somastack.metering;

import static io.somastack.metering.BudgetSql.bind;
import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.math.MathContext;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Budget leases per node (issue 13): this node holds a durable slice of a tenant's monthly budget
 * (a {@code budget_leases} row, counted in {@code budget_spend.reserved} like a reservation) and
 * reserves its calls against it in memory with a CAS, never past the slice, so a call makes no
 * round trip for its hold. A call's ledger row names the lease ({@code usage_ledger.reservation_id});
 * its transaction takes the lease row {@code FOR KEY SHARE}, so a lease is deleted only after every
 * transaction writing rows against it ended. Deleting the lease row (returned when idle, retired or
 * at shutdown; or reclaimed by any node's sweeper once expired) and charging the sum of its ledger
 * rows happen in one transaction, in that order, after locking the budget row they charge (so it
 * never waits for that row while holding the lease): whoever deletes the row moves the counters, once.
 * A call whose transaction finds its lease gone charges {@code budget_spend} itself.
 *
 * <p>Slice: {@code window} of this node's observed spend (at least 8 worst cases), at most
 * remaining / (2 × nodes leasing the scope), so nodes cannot strand the last of a budget in each
 * other's leases. When that is less than 8 of the call's worst case, the budget is near its limit:
 * {@link #take} returns empty and the caller holds per call, so the last cents are arbitrated by
 * PostgreSQL row by row, and each call frees what it did not cost as soon as it settles. Thread-safe.
 */
public final class BudgetLeases implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BudgetLeases.class);
    private static final BigDecimal MIN_CALLS = BigDecimal.valueOf(8);
    /** After a lease was refused, calls of that scope hold per call for this long before asking again. */
    private static final Duration REFUSED_BACKOFF = Duration.ofSeconds(1);

    private static final String TAKE = """
            WITH slice AS (
                SELECT trunc(LEAST(CAST(? AS numeric), (CAST(? AS numeric) - COALESCE(
                           (SELECT spent + reserved FROM budget_spend WHERE tenant_id = ? AND scope = ? AND period = ?), 0))
                       / (2 * (1 + (SELECT count(DISTINCT node_id) FROM budget_leases
                                    WHERE tenant_id = ? AND scope = ? AND period = ? AND node_id <> ? AND expires_at > ?)))), 15) AS amount),
            held AS (
                INSERT INTO budget_spend AS b (tenant_id, scope, period, spent, reserved)
                SELECT ?, ?, ?, 0, amount FROM slice WHERE amount >= ?
                ON CONFLICT (tenant_id, scope, period) DO UPDATE SET reserved = b.reserved + EXCLUDED.reserved
                WHERE b.spent + b.reserved + EXCLUDED.reserved <= ?
                RETURNING 1)
            INSERT INTO budget_leases (id, tenant_id, scope, period, node_id, amount, expires_at)
            SELECT ?, ?, ?, ?, ?, amount, ? FROM slice, held
            RETURNING amount""";
    /** In the ledger's transaction, once for its group: the leases stay until this transaction ends (a DELETE waits for it). */
    private static final String CONFIRM = "SELECT id FROM budget_leases WHERE id = ANY (?) FOR KEY SHARE";
    /** {@link #CONFIRM} of a group whose calls all used one lease. */
    private static final String CONFIRM_ONE = "SELECT id FROM budget_leases WHERE id = ? FOR KEY SHARE";
    /** In the ledger's transaction, when the lease was already settled: the call is charged by itself. */
    private static final String CHARGE = "UPDATE budget_spend SET spent = spent + ? WHERE tenant_id = ? AND scope = ? AND period = ?";
    /**
     * Before a return deletes its lease row: the budget row it settles, locked first. A ledger
     * transaction may hold that budget row (a per-call settle) and then ask for a lease row (a
     * leased call's confirm); a return that deleted the lease first and then waited for the budget
     * row would wait for it while it waits for the return: a deadlock.
     */
    private static final String LOCK_BUDGET = "SELECT 1 FROM budget_spend WHERE tenant_id = ? AND scope = ? AND period = ? FOR UPDATE";
    /** {@link #LOCK_BUDGET} for a reclaim: every budget row of the expired leases, in one order. */
    private static final String LOCK_EXPIRED_BUDGETS = """
            SELECT 1 FROM budget_spend WHERE (tenant_id, scope, period) IN (SELECT tenant_id, scope, period FROM budget_leases WHERE expires_at < ?)
            ORDER BY tenant_id, scope, period FOR UPDATE""";
    private static final String RETURN = "DELETE FROM budget_leases WHERE id = ? RETURNING id, tenant_id, scope, period, amount";
    private static final String RECLAIM = "DELETE FROM budget_leases WHERE expires_at < ? RETURNING id, tenant_id, scope, period, amount";
    /**
     * Run after the DELETE, in its transaction but in a new snapshot: it sees every ledger row of
     * transactions that held the lease row, since the DELETE waited for them.
     */
    private static final String SETTLE = """
            UPDATE budget_spend b SET reserved = b.reserved - ?,
                spent = b.spent + COALESCE((SELECT sum(cost) FROM usage_ledger WHERE reservation_id = ? AND tenant_id = ?), 0)
            WHERE tenant_id = ? AND scope = ? AND period = ?""";
    /** Only a lease not yet expired is renewed: an expired one may be reclaimed by any node's sweeper. */
    private static final String RENEW = "UPDATE budget_leases SET expires_at = ? WHERE id = ANY (?) AND node_id = ? AND expires_at >= ? RETURNING id";

    private final DataSource dataSource;
    private final Clock clock;
    private final Ids ids;
    private final UUID nodeId;
    private final LeaseConfig config;
    private final MeterRegistry meters;
    /** Per call: looked up once, not on every hold. */
    private final Counter leaseHolds;
    private final Map<Key, Slot> slots = new ConcurrentHashMap<>();
    /** Every lease this node holds a row for, current or retired. */
    private final Set<Lease> held = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    public BudgetLeases(DataSource asyncCommitDataSource, Clock clock, Ids ids, UUID nodeId, LeaseConfig config, MeterRegistry meters) {
        this.dataSource = requireNonNull(asyncCommitDataSource, "asyncCommitDataSource is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.nodeId = requireNonNull(nodeId, "nodeId is null");
        this.config = requireNonNull(config, "config is null");
        this.meters = requireNonNull(meters, "meters is null");
        this.leaseHolds = meters.counter("soma.budget.holds", "source", "lease");
    }

    /** This node's identity on its lease rows: a random UUID per process start. */
    public UUID nodeId() {
        return nodeId;
    }

    /**
     * Reserves {@code amount} of {@code tenant}'s monthly budget ({@code limit}) from this node's
     * lease, taking or renewing one when needed; empty when no lease can hold it (near the limit,
     * or shut down): then hold per call. A zero worst case (an unpriced model) takes 0 from the
     * lease, and may take a lease of 0: its row's check ({@code spent + reserved <= limit}) is the
     * one a per-call hold of 0 makes, so such a call is refused exactly when a per-call hold would be.
     */
    public Optional<Hold> take(TenantId tenant, Money limit, Money amount) {
        if (closed || amount.amount().signum() < 0) {
            return Optional.empty();
        }
        Instant now = clock.now();
        Key key = new Key(tenant, Budgets.TENANT_SCOPE, Ledger.period(now));
        Slot slot = slots.computeIfAbsent(key, ignored -> new Slot());
        Optional<Hold> hold = slot.takeFrom(limit, amount, now);
        if (hold.isPresent()) {
            return hold;
        }
        // Renewing is rare (a slice lasts seconds): callers that do not fit wait for one renewal and try its lease.
        synchronized (slot) {
            hold = slot.takeFrom(limit, amount, now);
            if (hold.isPresent() || closed || now.isBefore(slot.refusedUntil)) {
                return hold;
            }
            Lease old = slot.current;
            BigDecimal desired = amount.amount().multiply(MIN_CALLS);
            if (old != null) {
                retire(old);
                if (old.use.get().inflight == 0) {
                    // Its slack goes back before the new slice is measured, which matters near the limit.
                    giveBack(old);
                }
                desired = desired.max(old.rate(now).multiply(BigDecimal.valueOf(config.window().toMillis())));
            }
            Optional<Lease> lease = lease(key, limit, amount, desired, now);
            slot.current = lease.orElse(null);
            if (lease.isEmpty()) {
                slot.refusedUntil = now.plus(REFUSED_BACKOFF);
                return Optional.empty();
            }
            held.add(lease.get());
            return slot.takeFrom(limit, amount, now);
        }
    }

    /**
     * Settles {@code hold} at {@code cost} in {@code tx}, the transaction that wrote its ledger
     * row: the lease row is locked for key share until {@code tx} ends, so it cannot be settled
     * without that row; if it was settled already (its node was taken for dead), the call is
     * charged to the budget here. The lock is taken for the whole group at once, after the
     * units' own work ({@link Tx#deferred}): one statement for the group's leases, not one per
     * call; the hold is settled in memory once its lease is confirmed.
     */
    public void settle(Tx tx, Hold hold, Money cost) {
        tx.deferred(this, Confirms::new).add(hold, cost);
    }

    /** Settles {@code hold} at {@code cost} in memory only (its transaction committed, or was confirmed by {@link #settle(Tx, Hold, Money)}). */
    public void settle(Hold hold, Money cost) {
        done(hold, cost.amount().subtract(hold.amount().amount()));
    }

    /** Frees {@code hold} of a call that wrote no ledger row. */
    public void release(Hold hold) {
        done(hold, hold.amount().amount().negate());
    }

    private void done(Hold hold, BigDecimal change) {
        if (!hold.done().compareAndSet(false, true)) {
            return;
        }
        Use after = hold.lease().use.updateAndGet(use -> new Use(use.taken.add(change), use.inflight - 1, use.retired));
        if (after.retired && after.inflight == 0) {
            // Returned off the caller's path: this may still run inside the call's ledger transaction.
            Thread.ofVirtual().name("budget-lease-return").start(() -> giveBack(hold.lease()));
        }
    }

    /**
     * Every second: returns leases idle for {@code idle} and retired leases whose calls finished,
     * renews the rest before they expire, and forgets leases found expired (a sweeper settles them).
     */
    public void maintain() {
        Instant now = clock.now();
        List<Lease> renew = new ArrayList<>();
        for (Lease lease : held) {
            if (!lease.use.get().retired && Duration.between(lease.lastUsed, now).compareTo(config.idle()) >= 0) {
                retire(lease);
            }
            Use use = lease.use.get();
            Instant retiredAt = lease.retiredAt;
            if (use.retired && use.inflight == 0) {
                giveBack(lease);
            } else if (!use.retired || retiredAt == null || Duration.between(retiredAt, now).compareTo(config.ttl()) < 0) {
                // A retired lease whose call never finished (its transaction failed) is left to expire.
                renew.add(lease);
            }
        }
        slots.values().removeIf(slot -> (slot.current == null || slot.current.use.get().retired) && now.isAfter(slot.refusedUntil));
        if (renew.isEmpty()) {
            return;
        }
        Instant until = now.plus(config.ttl());
        Set<UUID> renewed = ConcurrentHashMap.newKeySet();
        run(connection -> {
            try (PreparedStatement statement = connection.prepareStatement(RENEW)) {
                bind(statement, Timestamp.from(until), connection.createArrayOf("uuid", renew.stream().map(lease -> lease.id).toArray()),
                        nodeId, Timestamp.from(now));
                try (ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        renewed.add((UUID) rs.getObject(1));
                    }
                }
            }
            return null;
        });
        for (Lease lease : renew) {
            if (!renewed.contains(lease.id)) {
                LOG.warn("Budget lease {} of tenant {} expired before it was renewed; the sweeper settles it from the ledger",
                        lease.id, lease.key.tenant());
                retire(lease);
                held.remove(lease);
            }
        }
    }

    /**
     * Settles leases past their expiry (their node died or stopped renewing): charges the sum of
     * their ledger rows and frees the rest. Returns how many.
     */
    public int reclaimExpired() {
        Timestamp now = Timestamp.from(clock.now());
        int reclaimed = settleDeleted(LOCK_EXPIRED_BUDGETS, new Object[] {now}, RECLAIM, now);
        if (reclaimed > 0) {
            meters.counter("soma.budget.leases", "event", "reclaimed").increment(reclaimed);
        }
        return reclaimed;
    }

    /**
     * Stops leasing and returns every lease whose calls finish within {@code drain}; the others
     * expire and a sweeper settles them.
     */
    public void close(Duration drain) {
        closed = true;
        held.forEach(this::retire);
        Instant deadline = Instant.now().plus(drain);
        for (Lease lease : List.copyOf(held)) {
            while (lease.use.get().inflight > 0 && Instant.now().isBefore(deadline)) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            if (lease.use.get().inflight == 0) {
                giveBack(lease);
            }
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    private void retire(Lease lease) {
        Use use = lease.use.getAndUpdate(current -> new Use(current.taken, current.inflight, true));
        if (!use.retired) {
            lease.retiredAt = clock.now();
        }
    }

    /**
     * Returns {@code lease} (retired, no call in flight). Two threads may both get here: the second
     * DELETE waits for the first's commit and then finds no row, so the lease is settled once, and
     * both return only once it is.
     */
    private void giveBack(Lease lease) {
        if (!held.contains(lease)) {
            return;
        }
        try {
            if (settleDeleted(LOCK_BUDGET, new Object[] {lease.key.tenant().value(), lease.key.scope(), lease.key.period()}, RETURN, lease.id) == 1) {
                meters.counter("soma.budget.leases", "event", "returned").increment();
            }
        } catch (RuntimeException e) {
            LOG.warn("Returning budget lease {} failed ({}); it expires and the sweeper settles it", lease.id, e.getMessage());
        }
        held.remove(lease);
    }

    /**
     * Locks the budget rows by {@code lock}, deletes lease rows by {@code delete} and settles each
     * from the ledger, in one transaction.
     */
    private int settleDeleted(String lock, Object[] lockParameters, String delete, Object parameter) {
        return run(connection -> {
            connection.setAutoCommit(false);
            try {
                int settled = 0;
                try (PreparedStatement statement = connection.prepareStatement(lock)) {
                    bind(statement, lockParameters);
                    statement.executeQuery().close();
                }
                List<Object[]> deleted = new ArrayList<>();
                try (PreparedStatement statement = connection.prepareStatement(delete)) {
                    bind(statement, parameter);
                    try (ResultSet rs = statement.executeQuery()) {
                        while (rs.next()) {
                            deleted.add(new Object[] {rs.getBigDecimal(5), rs.getObject(1), rs.getObject(2), rs.getObject(2), rs.getString(3),
                                    rs.getObject(4, LocalDate.class)});
                        }
                    }
                }
                try (PreparedStatement statement = connection.prepareStatement(SETTLE)) {
                    for (Object[] row : deleted) {
                        bind(statement, row);
                        settled += statement.executeUpdate();
                    }
                }
                connection.commit();
                return settled;
            } catch (SQLException e) {
                connection.rollback();
                throw e;
            } finally {
                connection.setAutoCommit(true);
            }
        });
    }

    /** Takes a new lease of at most {@code desired} for {@code key}, if one of at least 8 × {@code amount} fits. */
    private Optional<Lease> lease(Key key, Money limit, Money amount, BigDecimal desired, Instant now) {
        UUID id = ids.next();
        BigDecimal slice = run(connection -> {
            try (PreparedStatement statement = connection.prepareStatement(TAKE)) {
                Object tenant = key.tenant().value();
                bind(statement, desired, limit.amount(), tenant, key.scope(), key.period(),
                        tenant, key.scope(), key.period(), nodeId, Timestamp.from(now),
                        tenant, key.scope(), key.period(), amount.amount().multiply(MIN_CALLS), limit.amount(),
                        id, tenant, key.scope(), key.period(), nodeId, Timestamp.from(now.plus(config.ttl())));
                try (ResultSet rs = statement.executeQuery()) {
                    return rs.next() ? rs.getBigDecimal(1) : null;
                }
            }
        });
        if (slice == null) {
            meters.counter("soma.budget.leases", "event", "refused").increment();
            return Optional.empty();
        }
        meters.counter("soma.budget.leases", "event", "taken").increment();
        return Optional.of(new Lease(id, key, limit, slice, now));
    }

    private <T> T run(BudgetSql.Work<T> work) {
        return BudgetSql.run(dataSource, "Budget lease", work);
    }

    /**
     * The lease-served calls of one group commit: their leases locked for key share in one
     * statement, then each call charged to its budget if its lease was settled already, and
     * settled in memory. It runs after the units' own work, so a group that also settles per-call
     * holds locks their budget rows before any lease row, the order returns and reclaims lock in.
     */
    private final class Confirms implements Tx.Deferred {
        private final List<Settled> calls = new ArrayList<>();

        void add(Hold hold, Money cost) {
            calls.add(new Settled(requireNonNull(hold, "hold is null"), requireNonNull(cost, "cost is null")));
        }

        @Override
        public void run(Handle handle) {
            Connection connection = handle.getConnection();
            List<UUID> leaseIds = calls.stream().map(call -> call.hold().leaseId()).distinct().toList();
            try {
                Set<UUID> present = new HashSet<>();
                // Usually one: a node serves a tenant's calls from one lease at a time.
                try (PreparedStatement statement = connection.prepareStatement(leaseIds.size() == 1 ? CONFIRM_ONE : CONFIRM)) {
                    if (leaseIds.size() == 1) {
                        statement.setObject(1, leaseIds.getFirst());
                    } else {
                        statement.setArray(1, connection.createArrayOf("uuid", leaseIds.toArray()));
                    }
                    try (ResultSet rs = statement.executeQuery()) {
                        while (rs.next()) {
                            present.add((UUID) rs.getObject(1));
                        }
                    }
                }
                for (Settled call : calls) {
                    Lease lease = call.hold().lease();
                    if (!present.contains(lease.id)) {
                        try (PreparedStatement statement = connection.prepareStatement(CHARGE)) {
                            bind(statement, call.cost().amount(), lease.key.tenant().value(), lease.key.scope(), lease.key.period());
                            statement.executeUpdate();
                        }
                        meters.counter("soma.budget.leases", "event", "charged-after-settle").increment();
                    }
                }
            } catch (SQLException e) {
                throw new SomaException(ErrorCode.INTERNAL, "Settling against budget leases %s failed: %s".formatted(leaseIds, e.getMessage()),
                        Map.of(), e);
            }
            calls.forEach(call -> settle(call.hold(), call.cost()));
        }
    }

    /** A lease-served call of a group and what it cost. */
    private record Settled(Hold hold, Money cost) {
    }

    /** One budget scope's month. */
    private record Key(TenantId tenant, String scope, LocalDate period) {
    }

    /** What a lease has given out: worst cases in flight plus costs settled; calls in flight; no new calls once retired. */
    private record Use(BigDecimal taken, int inflight, boolean retired) {
    }

    /** A call's part of a lease: its worst case, settled or released once. */
    public record Hold(Lease lease, Money amount, AtomicBoolean done) {
        /** The lease's id, which the call's ledger row names. */
        public UUID leaseId() {
            return lease.id;
        }
    }

    /** This node's current lease of one scope, renewed under the slot's monitor. */
    private final class Slot {
        volatile Lease current;
        volatile Instant refusedUntil = Instant.MIN;

        Optional<Hold> takeFrom(Money limit, Money amount, Instant now) {
            Lease lease = current;
            // A lease belongs to the limit it was taken under: a changed limit retires it.
            if (lease == null || !lease.limit.equals(limit)) {
                return Optional.empty();
            }
            Use use = lease.use.get();
            while (!use.retired && use.taken.add(amount.amount()).compareTo(lease.amount) <= 0) {
                Use next = new Use(use.taken.add(amount.amount()), use.inflight + 1, false);
                if (lease.use.compareAndSet(use, next)) {
                    lease.lastUsed = now;
                    leaseHolds.increment();
                    return Optional.of(new Hold(lease, amount, new AtomicBoolean()));
                }
                use = lease.use.get();
            }
            return Optional.empty();
        }
    }

    /** A lease row this node holds. */
    public static final class Lease {
        private final UUID id;
        private final Key key;
        private final Money limit;
        private final BigDecimal amount;
        private final Instant taken;
        private final AtomicReference<Use> use = new AtomicReference<>(new Use(BigDecimal.ZERO, 0, false));
        private volatile Instant lastUsed;
        private volatile Instant retiredAt;

        private Lease(UUID id, Key key, Money limit, BigDecimal amount, Instant taken) {
            this.id = id;
            this.key = key;
            this.limit = limit;
            this.amount = amount;
            this.taken = taken;
            this.lastUsed = taken;
        }

        /** What this lease gave out per millisecond of its life. */
        private BigDecimal rate(Instant now) {
            long millis = Math.max(1, Duration.between(taken, now).toMillis());
            return use.get().taken.max(BigDecimal.ZERO).divide(BigDecimal.valueOf(millis), MathContext.DECIMAL64);
        }
    }
}
