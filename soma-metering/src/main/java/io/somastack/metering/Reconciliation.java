package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import java.time.LocalDate;
import java.time.YearMonth;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Jdbi;

/**
 * Compares the billing events in the outbox with the ledger rows they report, per tenant and
 * period: every ledger row must have exactly one {@code io.somastack.usage.recorded} event
 * (subject = the row's id, written in the row's transaction) carrying the same cost, and every
 * such event must have its row. Each difference is reported; {@link #lastDifferences} feeds the
 * {@code soma.billing.reconciliation.differences} gauge. Thread-safe.
 */
public final class Reconciliation {
    /** The billing event every ledger row is written with. */
    public static final String BILLING_EVENT = "io.somastack.usage.recorded";

    private static final String DIFFERENCES = """
            SELECT coalesce(l.tenant_id, o.tenant_id) AS tenant_id, l.id AS ledger_id, o.id AS event_id, l.cost AS ledger_cost,
                   o.data ->> 'cost' AS event_cost
            FROM (SELECT id, tenant_id, cost FROM usage_ledger WHERE period = :period) AS l
            FULL OUTER JOIN (SELECT id, tenant_id, subject, data FROM outbox
                             WHERE type = :type AND time >= :from AND time < :until) AS o
                ON o.subject = l.id::text
            WHERE l.id IS NULL OR o.id IS NULL OR l.cost <> CAST(o.data ->> 'cost' AS NUMERIC)
            ORDER BY 1, 2""";

    private final Jdbi jdbi;
    private final AtomicLong lastDifferences = new AtomicLong();

    public Reconciliation(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** What kind of difference. */
    public enum Kind { MISSING_EVENT, EVENT_WITHOUT_LEDGER_ROW, AMOUNT_DIFFERS }

    /** One difference between the ledger and its billing events. */
    public record Difference(Kind kind, UUID tenantId, Optional<UUID> ledgerId, Optional<UUID> eventId, Optional<Money> ledgerCost,
            Optional<String> eventCost) {
    }

    /**
     * Every difference of {@code period}. Events are looked for in the period and the month after
     * it (a row booked at a period's last instant by its close is written after the period ends);
     * an event of the next period's row is not counted as an orphan of this one because its row's
     * period decides.
     */
    public List<Difference> differences(YearMonth period) {
        LocalDate start = period.atDay(1);
        // A late row of an earlier period (moved here when it arrived) has its event in that period's time.
        LocalDate from = jdbi.withHandle(handle -> handle.createQuery(
                "SELECT min(late_of) FROM usage_ledger WHERE period = :period AND late_of IS NOT NULL")
                .bind("period", start).mapTo(LocalDate.class).findOne()).filter(earliest -> earliest.isBefore(start)).orElse(start);
        List<Difference> differences = jdbi.withHandle(handle -> handle.createQuery(DIFFERENCES)
                .bind("period", start).bind("type", BILLING_EVENT)
                .bind("from", java.sql.Timestamp.from(from.atStartOfDay(java.time.ZoneOffset.UTC).toInstant()))
                .bind("until", java.sql.Timestamp.from(Invoicing.end(period.plusMonths(1))))
                .map((rs, ctx) -> {
                    UUID ledgerId = (UUID) rs.getObject("ledger_id");
                    UUID eventId = (UUID) rs.getObject("event_id");
                    Kind kind = ledgerId == null ? Kind.EVENT_WITHOUT_LEDGER_ROW : eventId == null ? Kind.MISSING_EVENT : Kind.AMOUNT_DIFFERS;
                    return new Difference(kind, (UUID) rs.getObject("tenant_id"), Optional.ofNullable(ledgerId), Optional.ofNullable(eventId),
                            Optional.ofNullable(rs.getBigDecimal("ledger_cost")).map(Money::of), Optional.ofNullable(rs.getString("event_cost")));
                }).list());
        // An event whose row belongs to another period is that period's business, not an orphan here.
        List<Difference> own = differences.stream().filter(difference -> difference.kind() != Kind.EVENT_WITHOUT_LEDGER_ROW
                || !rowExists(difference.eventId().orElseThrow())).toList();
        lastDifferences.set(own.size());
        return own;
    }

    /** A ledger row booked in a period after that period's invoice closed: it is billed on the invoice of {@code billedIn}. */
    public record LateRow(UUID ledgerId, UUID tenantId, String item, Money cost, YearMonth billedIn) {
    }

    /** Every row that arrived for {@code period} after its tenant's invoice of the period was made. */
    public List<LateRow> lateRows(YearMonth period) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT id, tenant_id, coalesce(sku, model) AS item, cost, period FROM usage_ledger WHERE late_of = :period
                ORDER BY tenant_id, created_at, id""")
                .bind("period", period.atDay(1))
                .map((rs, ctx) -> new LateRow((UUID) rs.getObject("id"), (UUID) rs.getObject("tenant_id"), rs.getString("item"),
                        Money.of(rs.getBigDecimal("cost")), YearMonth.from(rs.getObject("period", LocalDate.class))))
                .list());
    }

    private boolean rowExists(UUID eventId) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT count(*) FROM outbox o JOIN usage_ledger l ON o.subject = l.id::text WHERE o.id = :id""")
                .bind("id", eventId).mapTo(Long.class).one()) > 0;
    }

    /** How many differences the last reconciliation found (for the gauge). */
    public long lastDifferences() {
        return lastDifferences.get();
    }
}
