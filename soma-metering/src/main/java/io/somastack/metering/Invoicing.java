package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.Tenant;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.metering.internal.InvoiceCalculator;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.OutboxEvent;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.databind.JsonNode;

/**
 * Invoices: closing a period makes one invoice per tenant (idempotent: a second close of the
 * same period changes nothing), the upcoming invoice is the current period so far computed by the
 * same code, and a finalized invoice never changes (it can be voided). Thread-safe; closes on
 * several nodes at once are serialized per tenant and period by an advisory lock.
 */
public final class Invoicing {
    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final Ledger ledger;
    private final SkuCatalog catalog;
    private final Tenants tenants;
    private final BillingConfig config;
    private final Clock clock;
    private final Ids ids;
    private final Credits credits;

    public Invoicing(Jdbi jdbi, GroupCommit commit, Ledger ledger, SkuCatalog catalog, Tenants tenants, BillingConfig config, Clock clock,
            Ids ids, Credits credits) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.ledger = requireNonNull(ledger, "ledger is null");
        this.catalog = requireNonNull(catalog, "catalog is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
        this.config = requireNonNull(config, "config is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.credits = requireNonNull(credits, "credits is null");
    }

    /** The outcome of a close: the period's invoices, and how many this run made. */
    public record Run(YearMonth period, int created, int existing, List<Invoice> invoices) {
    }

    /**
     * Closes {@code period}: one invoice (finalized, or a draft when {@code finalize} is false) per
     * tenant that existed before the period's end. A tenant already invoiced for it is left alone.
     * A period that is not over is a 400.
     */
    public Run close(YearMonth period, boolean finalize, String actor, String requestId) {
        Instant end = end(period);
        if (clock.now().isBefore(end)) {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "Period %s is not over: it ends at %s; the invoice so far is GET /v1/invoices/upcoming".formatted(period, end),
                    Map.of("field", "period"));
        }
        LocalDate start = period.atDay(1);
        Map<String, SkuPrice> prices = catalog.inEffect(start);
        int created = 0;
        int existing = 0;
        List<Invoice> invoices = new ArrayList<>();
        for (Tenant tenant : tenants.list()) {
            if (!tenant.createdAt().isBefore(end)) {
                continue;
            }
            Closed closed = commit.execute(tx -> closeOne(tx, tenant, period, prices, finalize, actor, requestId));
            invoices.add(closed.invoice());
            if (closed.created()) {
                created++;
            } else {
                existing++;
            }
        }
        return new Run(period, created, existing, invoices);
    }

    private record Closed(Invoice invoice, boolean created) {
    }

    private Closed closeOne(Tx tx, Tenant tenant, YearMonth period, Map<String, SkuPrice> prices, boolean finalize, String actor,
            String requestId) {
        Handle handle = tx.handle();
        handle.createQuery("SELECT 1 FROM pg_advisory_xact_lock(hashtext(:key))")
                .bind("key", "invoice:" + tenant.id() + ":" + period).mapTo(Integer.class).one();
        Optional<Invoice> found = handle.createQuery("SELECT * FROM invoices WHERE tenant_id = :tenant AND period = :period")
                .bind("tenant", tenant.id().value()).bind("period", period.atDay(1)).map((rs, ctx) -> read(rs, tenant.name())).findOne();
        if (found.isPresent()) {
            return new Closed(found.get(), false);
        }
        LocalDate start = period.atDay(1);
        InvoiceCalculator.Computed computed = InvoiceCalculator.compute(handle, tenant.id(), tenant.tier(), start, prices);
        for (InvoiceCalculator.Charge charge : computed.pending()) {
            ledger.recordCharge(tx, tenant.id(), start, charge.sku(), charge.meter(), charge.quantity(), charge.unit(), charge.cost());
        }
        UUID id = ids.next();
        // Credits: at most the rounded lines' sum, so the invoice never goes below zero; written as
        // one ledger row, so the lines still equal the ledger.
        Money applied = Credits.apply(tx, tenant.id(), period, id, creditable(computed.lines()));
        List<Invoice.Line> lines = withCredit(computed.lines(), applied);
        if (applied.compareTo(Money.ZERO) > 0) {
            ledger.recordCharge(tx, tenant.id(), start, Skus.CREDIT, Skus.CREDIT, BigDecimal.ONE, Skus.CREDIT, Money.ZERO.minus(applied));
        }
        Instant now = clock.now();
        Invoice.Status status = finalize ? Invoice.Status.FINALIZED : Invoice.Status.DRAFT;
        Optional<String> number = finalize ? Optional.of(nextNumber(handle)) : Optional.empty();
        Invoice invoice = assemble(Optional.of(id), tenant, period, number, status, lines, now,
                finalize ? Optional.of(now) : Optional.empty());
        handle.createUpdate("""
                INSERT INTO invoices (id, tenant_id, period, number, status, currency, lines, ledger_total, subtotal, tax_rate, tax, total,
                    created_at, finalized_at)
                VALUES (:id, :tenant, :period, :number, :status, :currency, CAST(:lines AS jsonb), :ledger, :subtotal, :rate, :tax, :total,
                    :created, :finalized)""")
                .bind("id", invoice.id().orElseThrow()).bind("tenant", tenant.id().value()).bind("period", start)
                .bind("number", number.orElse(null)).bind("status", status.wire()).bind("currency", invoice.currency())
                .bind("lines", Json.text(invoice.lines().stream().map(Invoicing::lineRow).toList()))
                .bind("ledger", invoice.ledgerTotal().amount()).bind("subtotal", invoice.subtotal().amount()).bind("rate", invoice.taxRate())
                .bind("tax", invoice.tax().amount()).bind("total", invoice.total().amount()).bind("created", Timestamp.from(now))
                .bind("finalized", invoice.finalizedAt().map(Timestamp::from).orElse(null)).execute();
        tx.audit(new AuditEntry(Optional.of(tenant.id()), actor, "invoice." + status.wire(), invoice.id().orElseThrow().toString(), requestId,
                Map.of("period", period.toString(), "total", invoice.total().toPlainString(), "number", number.orElse("none"))));
        tx.publish(new OutboxEvent("io.somastack.billing.invoice." + status.wire(), invoice.id().orElseThrow().toString(),
                Optional.of(tenant.id()), Map.of("period", period.toString(), "total", invoice.total().toPlainString(),
                        "currency", invoice.currency(), "number", number.orElse(""))));
        return new Closed(invoice, true);
    }

    /** The current period so far, as a draft computed on the fly with the close's own code. */
    public Invoice upcoming(Tenant tenant) {
        YearMonth period = YearMonth.from(clock.now().atZone(ZoneOffset.UTC));
        Map<String, SkuPrice> prices = catalog.inEffect(period.atDay(1));
        List<Invoice.Line> lines = jdbi.withHandle(handle -> {
            InvoiceCalculator.Computed computed = InvoiceCalculator.compute(handle, tenant.id(), tenant.tier(), period.atDay(1), prices);
            Money available = Credits.available(handle, tenant.id());
            Money limit = creditable(computed.lines());
            return withCredit(computed.lines(), available.compareTo(limit) < 0 ? available : limit);
        });
        return assemble(Optional.empty(), tenant, period, Optional.empty(), Invoice.Status.DRAFT, lines, clock.now(), Optional.empty());
    }

    /** How much credit an invoice of {@code lines} can take: the sum of its rounded lines, never less than zero. */
    private static Money creditable(List<Invoice.Line> lines) {
        Money sum = lines.stream().map(Invoice.Line::amount).reduce(Money.ZERO, Money::plus);
        return sum.isNegative() ? Money.ZERO : sum;
    }

    /** {@code lines} and a credit line of {@code -applied} (whole cents, so exact and rounded agree), if any is applied. */
    private static List<Invoice.Line> withCredit(List<Invoice.Line> lines, Money applied) {
        if (applied.compareTo(Money.ZERO) <= 0) {
            return lines;
        }
        List<Invoice.Line> all = new ArrayList<>(lines);
        Money negative = Money.ZERO.minus(applied);
        all.add(new Invoice.Line(Skus.CREDIT, "Credit", Skus.CREDIT, BigDecimal.ONE, Skus.CREDIT, Optional.empty(), negative, negative));
        return List.copyOf(all);
    }

    /** {@code tenant}'s invoice {@code id}; another tenant's is not found. */
    public Optional<Invoice> find(Tenant tenant, UUID id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM invoices WHERE id = :id AND tenant_id = :tenant")
                .bind("id", id).bind("tenant", tenant.id().value()).map((rs, ctx) -> read(rs, tenant.name())).findOne());
    }

    /** {@code tenant}'s invoices, newest period first. */
    public List<Invoice> list(Tenant tenant) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM invoices WHERE tenant_id = :tenant ORDER BY period DESC")
                .bind("tenant", tenant.id().value()).map((rs, ctx) -> read(rs, tenant.name())).list());
    }

    /** Every tenant's invoice of {@code period} (for the operator). */
    public List<Invoice> list(YearMonth period) {
        Map<TenantId, String> names = new LinkedHashMap<>();
        tenants.list().forEach(tenant -> names.put(tenant.id(), tenant.name()));
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM invoices WHERE period = :period ORDER BY tenant_id")
                .bind("period", period.atDay(1))
                .map((rs, ctx) -> read(rs, names.getOrDefault(new TenantId((UUID) rs.getObject("tenant_id")), ""))).list());
    }

    /** The tenant's invoice {@code id} for the operator, whatever its tenant. */
    public Optional<Invoice> find(UUID id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM invoices WHERE id = :id").bind("id", id)
                .map((rs, ctx) -> read(rs, tenants.find(new TenantId((UUID) rs.getObject("tenant_id"))).map(Tenant::name).orElse("")))
                .findOne());
    }

    /** Finalizes a draft (it gets its number); a finalized invoice is returned as is; a void one is a 409. */
    public Invoice finalizeDraft(UUID id, String actor, String requestId) {
        return transition(id, Invoice.Status.FINALIZED, actor, requestId);
    }

    /** Voids an invoice: it stays, numbered, marked void. Voiding twice changes nothing. */
    public Invoice voidInvoice(UUID id, String actor, String requestId) {
        return transition(id, Invoice.Status.VOID, actor, requestId);
    }

    private Invoice transition(UUID id, Invoice.Status target, String actor, String requestId) {
        Invoice invoice = find(id).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No invoice %s".formatted(id)));
        return commit.execute(tx -> {
            Handle handle = tx.handle();
            String status = handle.createQuery("SELECT status FROM invoices WHERE id = :id FOR UPDATE").bind("id", id).mapTo(String.class).one();
            Invoice.Status current = Invoice.Status.parse(status);
            if (current == target) {
                return find(id).orElseThrow();
            }
            if (current == Invoice.Status.VOID) {
                throw new SomaException(ErrorCode.CONFLICT, "Invoice %s is void".formatted(id));
            }
            if (target == Invoice.Status.FINALIZED) {
                handle.createUpdate("UPDATE invoices SET status = 'finalized', number = :number, finalized_at = :now WHERE id = :id")
                        .bind("number", nextNumber(handle)).bind("now", Timestamp.from(clock.now())).bind("id", id).execute();
            } else {
                handle.createUpdate("UPDATE invoices SET status = 'void', voided_at = :now WHERE id = :id")
                        .bind("now", Timestamp.from(clock.now())).bind("id", id).execute();
            }
            tx.audit(new AuditEntry(Optional.of(invoice.tenantId()), actor, "invoice." + target.wire(), id.toString(), requestId,
                    Map.of("period", invoice.period().toString())));
            tx.publish(new OutboxEvent("io.somastack.billing.invoice." + target.wire(), id.toString(), Optional.of(invoice.tenantId()),
                    Map.of("period", invoice.period().toString(), "total", invoice.total().toPlainString())));
            return handle.createQuery("SELECT * FROM invoices WHERE id = :id").bind("id", id)
                    .map((rs, ctx) -> read(rs, invoice.tenantName())).one();
        });
    }

    /** The first instant after {@code period}. */
    public static Instant end(YearMonth period) {
        return period.plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    }

    /** The next number, e.g. {@code INV-000042}, taken in the caller's transaction so numbers have no gaps. */
    private static String nextNumber(Handle handle) {
        long next = handle.createQuery("UPDATE invoice_numbers SET last = last + 1 WHERE id = 1 RETURNING last").mapTo(Long.class).one();
        return "INV-%06d".formatted(next);
    }

    /** Totals from the lines: the subtotal sums the rounded lines, the tax is one more rounded line. */
    private Invoice assemble(Optional<UUID> id, Tenant tenant, YearMonth period, Optional<String> number, Invoice.Status status,
            List<Invoice.Line> lines, Instant createdAt, Optional<Instant> finalizedAt) {
        Money ledgerTotal = lines.stream().map(Invoice.Line::exactAmount).reduce(Money.ZERO, Money::plus);
        Money subtotal = lines.stream().map(Invoice.Line::amount).reduce(Money.ZERO, Money::plus);
        BigDecimal rate = config.taxRates().getOrDefault(tenant.name(), BigDecimal.ZERO);
        Money taxExact = Money.of(subtotal.amount().multiply(rate));
        Money tax = Money.of(taxExact.roundedForInvoice());
        return new Invoice(id, tenant.id(), tenant.name(), period, number, status, catalog.currency(), lines, ledgerTotal, subtotal,
                rate, taxExact, tax, subtotal.plus(tax), createdAt, finalizedAt, Optional.empty());
    }

    private static Map<String, Object> lineRow(Invoice.Line line) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("sku", line.sku());
        row.put("description", line.description());
        row.put("pricing", line.pricing());
        row.put("quantity", line.quantity().toPlainString());
        row.put("unit", line.unit());
        row.put("unit_price", line.unitPrice().map(price -> price.amount().toPlainString()).orElse(null));
        row.put("exact_amount", line.exactAmount().amount().toPlainString());
        row.put("amount", line.amount().amount().toPlainString());
        return row;
    }

    private Invoice read(ResultSet rs, String tenantName) throws SQLException {
        List<Invoice.Line> lines = new ArrayList<>();
        for (JsonNode row : Json.mapper().readTree(rs.getString("lines"))) {
            JsonNode unitPrice = row.get("unit_price");
            lines.add(new Invoice.Line(row.get("sku").asString(), row.get("description").asString(), row.get("pricing").asString(),
                    new BigDecimal(row.get("quantity").asString()), row.get("unit").asString(),
                    unitPrice == null || unitPrice.isNull() ? Optional.empty() : Optional.of(Money.of(unitPrice.asString())),
                    Money.of(row.get("exact_amount").asString()), Money.of(row.get("amount").asString())));
        }
        Money subtotal = Money.of(rs.getBigDecimal("subtotal"));
        BigDecimal rate = rs.getBigDecimal("tax_rate");
        return new Invoice(Optional.of((UUID) rs.getObject("id")), new TenantId((UUID) rs.getObject("tenant_id")), tenantName,
                YearMonth.from(rs.getObject("period", LocalDate.class)), Optional.ofNullable(rs.getString("number")),
                Invoice.Status.parse(rs.getString("status")), rs.getString("currency"), lines, Money.of(rs.getBigDecimal("ledger_total")),
                subtotal, rate, Money.of(subtotal.amount().multiply(rate)), Money.of(rs.getBigDecimal("tax")),
                Money.of(rs.getBigDecimal("total")), rs.getTimestamp("created_at").toInstant(),
                Optional.ofNullable(rs.getTimestamp("finalized_at")).map(Timestamp::toInstant),
                Optional.ofNullable(rs.getTimestamp("voided_at")).map(Timestamp::toInstant));
    }
}
