package io.somastack.metering;

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
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * Monthly budgets that cannot be overspent, on one node or many: before a call its worst
 * case is reserved with one conditional UPDATE ({@code spent + reserved + amount <= limit}),
 * which PostgreSQL's row lock makes atomic across threads and nodes; after the call's ledger
 * row committed, the reservation is settled to the actual cost, or released on failure.
 * Reserving runs on async-commit connections (see {@code Database.asyncCommitDataSource}).
 * Settling runs in the ledger's durable transaction when the budget row is free
 * ({@link #settle(Tx, Reservation, Money)}, no commit of its own), else on an async-commit
 * connection after it; it never waits there for a row another transaction holds across its
 * WAL flush. Until a call settles its worst case stays
 * reserved, which errs on the side of refusing. Reservations of a node that died expire
 * after the configured TTL and are settled from the ledger by {@link #sweepExpired()}.
 * A scope without a limit is not tracked: a limit set mid-month counts from then on.
 * Plain JDBC: these statements run on every model call, where JDBI's per-statement cost
 * showed in profiles. Thread-safe.
 */
public final class Budgets {
    public static final String TENANT_SCOPE = "tenant";

    private static final String HOLD = """
            WITH held AS (
                INSERT INTO budget_spend AS b (tenant_id, scope, period, spent, reserved)
                SELECT ?, ?, ?, 0, ? WHERE ? <= ?
                ON CONFLICT (tenant_id, scope, period) DO UPDATE SET reserved = b.reserved + EXCLUDED.reserved
                WHERE b.spent + b.reserved + EXCLUDED.reserved <= ?
                RETURNING 1)
            INSERT INTO budget_reservations (id, tenant_id, scope, period, amount, expires_at)
            SELECT ?, ?, ?, ?, ?, ? FROM held""";
    private static final String SETTLE = """
            WITH released AS (DELETE FROM budget_reservations WHERE id = ? AND scope = ? RETURNING amount)
            UPDATE budget_spend b SET reserved = b.reserved - r.amount, spent = b.spent + ? FROM released r
            WHERE b.tenant_id = ? AND b.scope = ? AND b.period = ?""";
    /**
     * {@link #SETTLE} inside the ledger's transaction, only if the budget row is not locked by
     * another transaction: waiting for it there could deadlock two group-commit batches that
     * settle two tenants in opposite orders, and would add another batch's WAL flush to this one.
     */
    private static final String SETTLE_IF_FREE = """
            WITH released AS (DELETE FROM budget_reservations r WHERE r.id = ? AND r.scope = ? AND EXISTS (
                                  SELECT 1 FROM budget_spend f WHERE f.tenant_id = r.tenant_id AND f.scope = r.scope AND f.period = r.period
                                  FOR UPDATE SKIP LOCKED)
                              RETURNING amount),
            moved AS (UPDATE budget_spend b SET reserved = b.reserved - r.amount, spent = b.spent + ? FROM released r
                      WHERE b.tenant_id = ? AND b.scope = ? AND b.period = ? RETURNING 1)
            SELECT EXISTS (SELECT 1 FROM moved) OR NOT EXISTS (SELECT 1 FROM budget_reservations WHERE id = ? AND scope = ?)""";
    private static final String SWEEP = """
            WITH expired AS (DELETE FROM budget_reservations WHERE expires_at < ? RETURNING id, tenant_id, scope, period, amount),
            charged AS (SELECT e.tenant_id, e.scope, e.period, e.amount, COALESCE(l.cost, 0) AS cost
                        FROM expired e LEFT JOIN usage_ledger l ON l.reservation_id = e.id AND l.tenant_id = e.tenant_id),
            sums AS (SELECT tenant_id, scope, period, sum(amount) AS amount, sum(cost) AS cost, count(*) AS n FROM charged GROUP BY 1, 2, 3),
            updated AS (UPDATE budget_spend b SET reserved = b.reserved - s.amount, spent = b.spent + s.cost FROM sums s
                        WHERE b.tenant_id = s.tenant_id AND b.scope = s.scope AND b.period = s.period RETURNING s.n)
            SELECT COALESCE(sum(n), 0) FROM updated""";

    private final DataSource reservations;
    private final Clock clock;
    private final Ids ids;
    private final Duration ttl;
    private final MeterRegistry meters;
    /** Per call: looked up once, not on every hold. */
    private final Counter callHolds;

    public Budgets(DataSource asyncCommitDataSource, Clock clock, Ids ids, Duration ttl, MeterRegistry meters) {
        this.reservations = requireNonNull(asyncCommitDataSource, "asyncCommitDataSource is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.ttl = requireNonNull(ttl, "ttl is null");
        this.meters = requireNonNull(meters, "meters is null");
        this.callHolds = meters.counter("soma.budget.holds", "source", "call");
    }

    /**
     * Reserves {@code amount} or throws {@link ErrorCode#BUDGET_EXHAUSTED} with the remaining
     * amount. Unlimited scopes reserve nothing.
     */
    public Reservation reserve(TenantId tenant, UUID keyId, Optional<Money> tenantLimit, Optional<Money> keyLimit, Money amount) {
        Instant now = clock.now();
        LocalDate period = Ledger.period(now);
        UUID id = ids.next();
        List<String> scopes = new ArrayList<>();
        scopes.add(TENANT_SCOPE);
        keyLimit.ifPresent(limit -> scopes.add(keyScope(keyId)));
        Map<String, Optional<Money>> limits = Map.of(TENANT_SCOPE, tenantLimit, keyScope(keyId), keyLimit);
        if (tenantLimit.isEmpty() && keyLimit.isEmpty()) {
            return new Reservation(id, tenant, scopes, period, Money.ZERO);
        }
        List<String> held = new ArrayList<>();
        for (String scope : scopes) {
            Optional<Money> limit = limits.get(scope);
            if (limit.isEmpty()) {
                continue;
            }
            if (!hold(id, tenant, scope, period, limit.get(), amount, now.plus(ttl))) {
                held.forEach(done -> release(new Reservation(id, tenant, List.of(done), period, amount)));
                Money remaining = remaining(tenant, scope, period, limit.get());
                meters.counter("soma.budget.rejections", "tenant", tenant.toString()).increment();
                throw new SomaException(ErrorCode.BUDGET_EXHAUSTED,
                        "The %s budget of %s this month has %s left; this call may cost up to %s"
                                .formatted(scope.equals(TENANT_SCOPE) ? "tenant" : "key", limit.get(), remaining, amount),
                        Map.of("remaining", remaining.toPlainString(), "limit", limit.get().toPlainString(),
                                "required", amount.toPlainString(), "currency", "USD"));
            }
            held.add(scope);
        }
        callHolds.increment();
        return new Reservation(id, tenant, scopes, period, amount);
    }

    /**
     * Holds {@code amount} of one scope in a single statement (one round trip): the
     * conditional upsert and the reservation row commit together or not at all.
     */
    private boolean hold(UUID id, TenantId tenant, String scope, LocalDate period, Money limit, Money amount, Instant expires) {
        return run(connection -> {
            try (PreparedStatement statement = connection.prepareStatement(HOLD)) {
                statement.setObject(1, tenant.value());
                statement.setString(2, scope);
                statement.setObject(3, period);
                statement.setBigDecimal(4, amount.amount());
                statement.setBigDecimal(5, amount.amount());
                statement.setBigDecimal(6, limit.amount());
                statement.setBigDecimal(7, limit.amount());
                statement.setObject(8, id);
                statement.setObject(9, tenant.value());
                statement.setString(10, scope);
                statement.setObject(11, period);
                statement.setBigDecimal(12, amount.amount());
                statement.setTimestamp(13, Timestamp.from(expires));
                return statement.executeUpdate() == 1;
            }
        });
    }

    /**
     * Charges {@code cost} and frees the reservation, after its ledger row committed. This
     * runs outside the ledger's durable transaction so that the hot budget row is never
     * locked across a WAL flush; the reservation row is deleted and the counters moved in
     * one statement, so it happens exactly once, here or in {@link #sweepExpired()} if this
     * node dies first.
     */
    public void settle(Reservation reservation, Money cost) {
        move(reservation, cost.amount());
    }

    /**
     * Charges {@code cost} and frees the reservation in {@code tx}, the transaction that writes
     * its ledger row, so that both are durable in one commit. Returns false when a scope's
     * budget row was locked by another transaction and was left alone: call
     * {@link #settle(Reservation, Money)} once {@code tx} committed (it skips the scopes done
     * here). If {@code tx} rolls back, so does this, and the reservation stays held as before.
     */
    public boolean settle(Tx tx, Reservation reservation, Money cost) {
        return move(tx, reservation, cost.amount());
    }

    /** {@link #release(Reservation)} in {@code tx}, with {@link #settle(Tx, Reservation, Money)}'s return value. */
    public boolean release(Tx tx, Reservation reservation) {
        return move(tx, reservation, BigDecimal.ZERO);
    }

    private boolean move(Tx tx, Reservation reservation, BigDecimal cost) {
        if (reservation.amount().amount().signum() == 0) {
            return true;
        }
        boolean all = true;
        try (PreparedStatement statement = tx.handle().getConnection().prepareStatement(SETTLE_IF_FREE)) {
            for (String scope : reservation.scopes()) {
                bindSettle(statement, reservation, scope, cost);
                statement.setObject(7, reservation.id());
                statement.setString(8, scope);
                try (ResultSet rs = statement.executeQuery()) {
                    rs.next();
                    all &= rs.getBoolean(1);
                }
            }
        } catch (SQLException e) {
            throw new SomaException(ErrorCode.INTERNAL, "Settling a budget reservation failed: " + e.getMessage(), Map.of(), e);
        }
        meters.counter("soma.budget.settles", "where", all ? "ledger-transaction" : "after-commit").increment();
        return all;
    }

    /** Frees a reservation whose call failed before producing anything billable. */
    public void release(Reservation reservation) {
        move(reservation, BigDecimal.ZERO);
    }

    private void move(Reservation reservation, BigDecimal cost) {
        if (reservation.amount().amount().signum() == 0) {
            return;
        }
        run(connection -> {
            try (PreparedStatement statement = connection.prepareStatement(SETTLE)) {
                for (String scope : reservation.scopes()) {
                    bindSettle(statement, reservation, scope, cost);
                    statement.executeUpdate();
                }
            }
            return null;
        });
    }

    /** The six parameters {@link #SETTLE} and {@link #SETTLE_IF_FREE} start with. */
    private static void bindSettle(PreparedStatement statement, Reservation reservation, String scope, BigDecimal cost) throws SQLException {
        statement.setObject(1, reservation.id());
        statement.setString(2, scope);
        statement.setBigDecimal(3, cost);
        statement.setObject(4, reservation.tenantId().value());
        statement.setString(5, scope);
        statement.setObject(6, reservation.period());
    }

    /**
     * Settles reservations past their TTL (their node died mid-call): charges what the ledger
     * recorded for them, if anything, and frees the rest. Returns how many.
     */
    public int sweepExpired() {
        return run(connection -> {
            try (PreparedStatement statement = connection.prepareStatement(SWEEP)) {
                statement.setTimestamp(1, Timestamp.from(clock.now()));
                try (ResultSet rs = statement.executeQuery()) {
                    rs.next();
                    return rs.getInt(1);
                }
            }
        });
    }

    public static String keyScope(UUID keyId) {
        return "key:" + keyId;
    }

    private Money remaining(TenantId tenant, String scope, LocalDate period, Money limit) {
        BigDecimal used = run(connection -> {
            try (PreparedStatement statement = connection.prepareStatement(
                    "SELECT spent + reserved FROM budget_spend WHERE tenant_id = ? AND scope = ? AND period = ?")) {
                statement.setObject(1, tenant.value());
                statement.setString(2, scope);
                statement.setObject(3, period);
                try (ResultSet rs = statement.executeQuery()) {
                    return rs.next() ? rs.getBigDecimal(1) : BigDecimal.ZERO;
                }
            }
        });
        BigDecimal left = limit.amount().subtract(used);
        return Money.of(left.signum() < 0 ? BigDecimal.ZERO : left);
    }

    private <T> T run(BudgetSql.Work<T> work) {
        return BudgetSql.run(reservations, "Budget check", work);
    }
}
