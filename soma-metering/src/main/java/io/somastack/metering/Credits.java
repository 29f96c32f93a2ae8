package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.OutboxEvent;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BiConsumer;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Credits an operator grants a tenant, in whole cents of the catalog's currency. A period's
 * close applies the tenant's open credits, oldest first, up to the invoice's subtotal (so an
 * invoice never goes below zero) and writes the amount applied as one {@code credit} ledger row,
 * which keeps the invoice equal to its ledger; what is left carries over to the next invoices.
 * Whole cents make the credit line exact: it needs no rounding. Thread-safe; the close takes the
 * tenant's grants {@code FOR UPDATE}, so two closes never spend the same credit.
 */
public final class Credits {
    /** The largest single grant. */
    public static final BigDecimal MAX_AMOUNT = new BigDecimal("1000000000");
    private static final int MAX_REASON = 500;

    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final Tenants tenants;
    private final Clock clock;
    private final Ids ids;
    private final String currency;

    public Credits(Jdbi jdbi, GroupCommit commit, Tenants tenants, Clock clock, Ids ids, String currency) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.currency = requireNonNull(currency, "currency is null");
    }

    /** A grant request: {@code {"tenant_id": "...", "amount": "25.00", "reason": "outage 2026-11-03"}}; currency defaults to the catalog's. */
    public record NewCredit(@JsonProperty("tenant_id") String tenantId, BigDecimal amount, String currency, String reason) {
    }

    /** A grant and what is left of it. */
    public record Grant(UUID id, TenantId tenantId, Money amount, Money remaining, String currency, String reason, Instant createdAt) {
    }

    /**
     * Grants a credit, or refuses the request with a 400 that lists every problem; an unknown
     * tenant is a 404. {@code alsoInTransaction} runs in the transaction that writes it.
     */
    public Grant grant(NewCredit request, String actor, String requestId, BiConsumer<Tx, Grant> alsoInTransaction) {
        List<String> problems = new ArrayList<>();
        Optional<TenantId> tenant = Optional.empty();
        if (request.tenantId() == null || request.tenantId().isBlank()) {
            problems.add("tenant_id is required");
        } else {
            try {
                tenant = Optional.of(new TenantId(UUID.fromString(request.tenantId())));
            } catch (IllegalArgumentException e) {
                problems.add("tenant_id must be a tenant's id (a UUID)");
            }
        }
        if (request.amount() == null) {
            problems.add("amount is required (a decimal string such as \"25.00\")");
        } else if (request.amount().signum() <= 0) {
            problems.add("amount must be positive");
        } else if (request.amount().stripTrailingZeros().scale() > 2) {
            problems.add("amount must be whole cents (at most 2 decimal places)");
        } else if (request.amount().compareTo(MAX_AMOUNT) > 0) {
            problems.add("amount must be at most " + MAX_AMOUNT.toPlainString());
        }
        if (request.currency() != null && !request.currency().equals(currency)) {
            problems.add("currency must be the price book's %s".formatted(currency));
        }
        if (request.reason() == null || request.reason().isBlank()) {
            problems.add("reason is required");
        } else if (request.reason().length() > MAX_REASON) {
            problems.add("reason must be at most %d characters".formatted(MAX_REASON));
        }
        if (!problems.isEmpty()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The credit is refused: " + String.join("; ", problems),
                    Map.of("errors", List.copyOf(problems)));
        }
        TenantId tenantId = tenant.orElseThrow();
        tenants.find(tenantId).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No tenant %s".formatted(tenantId)));
        Grant grant = new Grant(ids.next(), tenantId, Money.of(request.amount()), Money.of(request.amount()), currency,
                request.reason().strip(), clock.now());
        return commit.execute(tx -> {
            tx.handle().createUpdate("""
                    INSERT INTO credit_grants (id, tenant_id, amount, remaining, currency, reason, created_at)
                    VALUES (:id, :tenant, :amount, :amount, :currency, :reason, :at)""")
                    .bind("id", grant.id()).bind("tenant", tenantId.value()).bind("amount", grant.amount().amount())
                    .bind("currency", currency).bind("reason", grant.reason()).bind("at", Timestamp.from(grant.createdAt())).execute();
            tx.audit(new AuditEntry(Optional.of(tenantId), actor, "credit.grant", grant.id().toString(), requestId,
                    Map.of("amount", grant.amount().toPlainString(), "reason", grant.reason())));
            tx.publish(new OutboxEvent("io.somastack.billing.credit.granted", grant.id().toString(), Optional.of(tenantId),
                    Map.of("amount", grant.amount().toPlainString(), "currency", currency)));
            alsoInTransaction.accept(tx, grant);
            return grant;
        });
    }

    /** {@code tenant}'s grants, newest first. */
    public List<Grant> list(TenantId tenant) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM credit_grants WHERE tenant_id = :tenant ORDER BY created_at DESC, id")
                .bind("tenant", tenant.value())
                .map((rs, ctx) -> new Grant((UUID) rs.getObject("id"), tenant, Money.of(rs.getBigDecimal("amount")),
                        Money.of(rs.getBigDecimal("remaining")), rs.getString("currency"), rs.getString("reason"),
                        rs.getTimestamp("created_at").toInstant()))
                .list());
    }

    /** What {@code tenant} has left to spend, read on {@code handle} (no lock: for the upcoming invoice). */
    static Money available(Handle handle, TenantId tenant) {
        return Money.of(handle.createQuery("SELECT coalesce(sum(remaining), 0) FROM credit_grants WHERE tenant_id = :tenant")
                .bind("tenant", tenant.value()).mapTo(BigDecimal.class).one());
    }

    /**
     * Spends up to {@code limit} of {@code tenant}'s open credits, oldest first, for the invoice
     * {@code invoiceId} of {@code period}, in the close's transaction; returns the amount spent.
     */
    static Money apply(Tx tx, TenantId tenant, YearMonth period, UUID invoiceId, Money limit) {
        Handle handle = tx.handle();
        List<Map.Entry<UUID, Money>> open = handle.createQuery("""
                SELECT id, remaining FROM credit_grants WHERE tenant_id = :tenant AND remaining > 0 ORDER BY created_at, id FOR UPDATE""")
                .bind("tenant", tenant.value())
                .map((rs, ctx) -> Map.entry((UUID) rs.getObject("id"), Money.of(rs.getBigDecimal("remaining")))).list();
        Money left = limit;
        for (Map.Entry<UUID, Money> grant : open) {
            if (left.compareTo(Money.ZERO) <= 0) {
                break;
            }
            Money take = grant.getValue().compareTo(left) <= 0 ? grant.getValue() : left;
            handle.createUpdate("UPDATE credit_grants SET remaining = remaining - :take WHERE id = :id")
                    .bind("take", take.amount()).bind("id", grant.getKey()).execute();
            handle.createUpdate("""
                    INSERT INTO credit_applications (credit_id, tenant_id, period, invoice_id, amount)
                    VALUES (:credit, :tenant, :period, :invoice, :amount)""")
                    .bind("credit", grant.getKey()).bind("tenant", tenant.value()).bind("period", period.atDay(1))
                    .bind("invoice", invoiceId).bind("amount", take.amount()).execute();
            left = left.minus(take);
        }
        return limit.minus(left);
    }
}
