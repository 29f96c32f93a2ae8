package io.somastack.metering;

import static java.util.Objects.requireNonNull;

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
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Monthly budgets that cannot be overspent, on one node or many: before a call its worst
 * case is reserved with one conditional UPDATE ({@code spent + reserved + amount <= limit}),
 * which PostgreSQL's row lock makes atomic across threads and nodes; after the call the
 * reservation is settled to the actual cost in the ledger's transaction, or released on
 * failure. Reservations commit asynchronously (see {@code Database.asyncCommitJdbi}): losing
 * one in a database crash only frees budget that the settle, committed synchronously after
 * it, then charges. Reservations of a node that died expire after the configured TTL.
 * Thread-safe.
 */
public final class Budgets {
    public static final String TENANT_SCOPE = "tenant";

    private final Jdbi reservations;
    private final Clock clock;
    private final Ids ids;
    private final Duration ttl;
    private final MeterRegistry meters;

    public Budgets(Jdbi asyncCommitJdbi, Clock clock, Ids ids, Duration ttl, MeterRegistry meters) {
        this.reservations = requireNonNull(asyncCommitJdbi, "asyncCommitJdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.ttl = requireNonNull(ttl, "ttl is null");
        this.meters = requireNonNull(meters, "meters is null");
    }

    /**
     * Reserves {@code amount} or throws {@link ErrorCode#BUDGET_EXHAUSTED} with the remaining
     * amount. Unlimited scopes reserve nothing but are still charged on settle.
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
                Money remaining = reservations.withHandle(handle -> remaining(handle, tenant, scope, period, limit.get()));
                meters.counter("soma.budget.rejections", "tenant", tenant.toString()).increment();
                throw new SomaException(ErrorCode.BUDGET_EXHAUSTED,
                        "The %s budget of %s this month has %s left; this call may cost up to %s"
                                .formatted(scope.equals(TENANT_SCOPE) ? "tenant" : "key", limit.get(), remaining, amount),
                        Map.of("remaining", remaining.toPlainString(), "limit", limit.get().toPlainString(),
                                "required", amount.toPlainString(), "currency", "USD"));
            }
            held.add(scope);
        }
        return new Reservation(id, tenant, scopes, period, amount);
    }

    /**
     * Holds {@code amount} of one scope in a single statement (one round trip): the
     * conditional upsert and the reservation row commit together or not at all.
     */
    private boolean hold(UUID id, TenantId tenant, String scope, LocalDate period, Money limit, Money amount, Instant expires) {
        return reservations.withHandle(handle -> handle.createQuery("""
                WITH held AS (
                    INSERT INTO budget_spend AS b (tenant_id, scope, period, spent, reserved)
                    SELECT :tenant, :scope, :period, 0, :amount WHERE :amount <= :limit
                    ON CONFLICT (tenant_id, scope, period) DO UPDATE SET reserved = b.reserved + :amount
                    WHERE b.spent + b.reserved + :amount <= :limit
                    RETURNING 1)
                INSERT INTO budget_reservations (id, tenant_id, scope, period, amount, expires_at)
                SELECT :id, :tenant, :scope, :period, :amount, :expires FROM held
                RETURNING 1""")
                .bind("id", id).bind("tenant", tenant.value()).bind("scope", scope).bind("period", period)
                .bind("amount", amount.amount()).bind("limit", limit.amount()).bind("expires", Timestamp.from(expires))
                .mapTo(Integer.class).findOne().isPresent());
    }

    /** Charges {@code cost} and frees the reservation, inside the ledger's transaction. */
    public void settle(Tx tx, Reservation reservation, Money cost) {
        for (String scope : reservation.scopes()) {
            tx.handle().createUpdate("""
                    WITH released AS (DELETE FROM budget_reservations WHERE id = :id AND scope = :scope RETURNING amount)
                    INSERT INTO budget_spend AS b (tenant_id, scope, period, spent, reserved)
                    VALUES (:tenant, :scope, :period, :cost, 0)
                    ON CONFLICT (tenant_id, scope, period) DO UPDATE
                    SET spent = b.spent + :cost, reserved = b.reserved - COALESCE((SELECT amount FROM released), 0)""")
                    .bind("id", reservation.id()).bind("scope", scope).bind("tenant", reservation.tenantId().value())
                    .bind("period", reservation.period()).bind("cost", cost.amount()).execute();
        }
    }

    /** Frees a reservation whose call failed before producing anything billable. */
    public void release(Reservation reservation) {
        if (reservation.amount().amount().signum() == 0) {
            return;
        }
        reservations.useTransaction(handle -> {
            for (String scope : reservation.scopes()) {
                handle.createUpdate("""
                        WITH released AS (DELETE FROM budget_reservations WHERE id = :id AND scope = :scope RETURNING amount)
                        UPDATE budget_spend SET reserved = reserved - (SELECT amount FROM released)
                        WHERE tenant_id = :tenant AND scope = :scope AND period = :period AND EXISTS (SELECT 1 FROM released)""")
                        .bind("id", reservation.id()).bind("scope", scope).bind("tenant", reservation.tenantId().value())
                        .bind("period", reservation.period()).execute();
            }
        });
    }

    /** Releases reservations past their TTL (their node died mid-call); returns how many. */
    public int sweepExpired() {
        return reservations.inTransaction(handle -> handle.createQuery("""
                WITH expired AS (DELETE FROM budget_reservations WHERE expires_at < :now RETURNING tenant_id, scope, period, amount),
                sums AS (SELECT tenant_id, scope, period, sum(amount) AS amount, count(*) AS n FROM expired GROUP BY 1, 2, 3),
                updated AS (UPDATE budget_spend b SET reserved = b.reserved - s.amount FROM sums s
                            WHERE b.tenant_id = s.tenant_id AND b.scope = s.scope AND b.period = s.period RETURNING s.n)
                SELECT COALESCE(sum(n), 0) FROM updated""")
                .bind("now", Timestamp.from(clock.now())).mapTo(Integer.class).one());
    }

    /** Spend so far this month of a scope. */
    public Money spent(TenantId tenant, String scope) {
        return reservations.withHandle(handle -> handle.createQuery(
                "SELECT spent FROM budget_spend WHERE tenant_id = :tenant AND scope = :scope AND period = :period")
                .bind("tenant", tenant.value()).bind("scope", scope).bind("period", Ledger.period(clock.now()))
                .mapTo(BigDecimal.class).findOne().map(Money::of).orElse(Money.ZERO));
    }

    public static String keyScope(UUID keyId) {
        return "key:" + keyId;
    }

    private static Money remaining(Handle handle, TenantId tenant, String scope, LocalDate period, Money limit) {
        BigDecimal used = handle.createQuery("""
                SELECT spent + reserved FROM budget_spend WHERE tenant_id = :tenant AND scope = :scope AND period = :period""")
                .bind("tenant", tenant.value()).bind("scope", scope).bind("period", period)
                .mapTo(BigDecimal.class).findOne().orElse(BigDecimal.ZERO);
        BigDecimal left = limit.amount().subtract(used);
        return Money.of(left.signum() < 0 ? BigDecimal.ZERO : left);
    }
}
