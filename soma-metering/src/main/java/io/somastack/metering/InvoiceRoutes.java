package io.somastack.metering;

import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.metering.internal.InvoiceDocuments;
import java.time.Instant;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Invoices over HTTP. Tenant routes (scope {@code invoices:read}): {@code GET /v1/invoices},
 * {@code /v1/invoices/upcoming}, {@code /v1/invoices/{id}} and its {@code .pdf} and {@code .csv};
 * another tenant's invoice is a 404. Operator routes: {@code POST /v1/admin/invoices/runs}
 * {@code {"period": "2026-11"}} (idempotent; a period not over is a 400), {@code GET
 * /v1/admin/invoices?period=}, and {@code POST /v1/admin/invoices/{id}/finalize} and {@code /void}.
 */
public final class InvoiceRoutes implements EndpointGroup {
    public static final String SCOPE = "invoices:read";

    private final Guard guard;
    private final Invoicing invoicing;

    public InvoiceRoutes(Guard guard, Invoicing invoicing) {
        this.guard = requireNonNull(guard, "guard is null");
        this.invoicing = requireNonNull(invoicing, "invoicing is null");
    }

    @Override
    public void addEndpoints() {
        // The fixed paths first: Javalin answers with the first route that matches.
        get("/v1/invoices/upcoming", this::upcoming);
        get("/v1/invoices/{id}.pdf", this::pdf);
        get("/v1/invoices/{id}.csv", this::csv);
        get("/v1/invoices/{id}", this::one);
        get("/v1/invoices", this::list);
        post("/v1/admin/invoices/runs", this::run);
        get("/v1/admin/invoices", this::listPeriod);
        post("/v1/admin/invoices/{id}/finalize", this::finalizeDraft);
        post("/v1/admin/invoices/{id}/void", this::voidInvoice);
    }

    private void upcoming(Context ctx) {
        Principal principal = guard.tenant(ctx, SCOPE);
        ctx.json(view(invoicing.upcoming(principal.tenant())));
    }

    private void list(Context ctx) {
        Principal principal = guard.tenant(ctx, SCOPE);
        ctx.json(Map.of("data", invoicing.list(principal.tenant()).stream().map(InvoiceRoutes::view).toList()));
    }

    private void one(Context ctx) {
        ctx.json(view(mine(ctx)));
    }

    private void pdf(Context ctx) {
        answerPdf(ctx, mine(ctx));
    }

    /** Answers {@code invoice} as its PDF, as {@code GET /v1/invoices/{id}.pdf} does (the console's PDF link answers the same). */
    public static void answerPdf(Context ctx, Invoice invoice) {
        ctx.contentType("application/pdf").header("Content-Disposition", "inline; filename=\"%s.pdf\"".formatted(fileName(invoice)))
                .result(InvoiceDocuments.pdf(invoice));
    }

    private void csv(Context ctx) {
        Invoice invoice = mine(ctx);
        ctx.contentType("text/csv; charset=utf-8").header("Content-Disposition", "attachment; filename=\"%s.csv\"".formatted(fileName(invoice)))
                .result(InvoiceDocuments.csv(invoice));
    }

    private Invoice mine(Context ctx) {
        Principal principal = guard.tenant(ctx, SCOPE);
        return id(ctx).flatMap(id -> invoicing.find(principal.tenant(), id)).orElseThrow(() -> notFound(ctx));
    }

    private void run(Context ctx) {
        guard.operator(ctx);
        RunRequest request = Json.read(ctx.bodyAsBytes(), RunRequest.class);
        if (request.period() == null) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "period is required (a month: 2026-11)", Map.of("field", "period"));
        }
        Invoicing.Run run = invoicing.close(period(request.period(), "period"), request.finalizeInvoices() == null || request.finalizeInvoices(), "operator",
                Edge.requestId(ctx));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("period", run.period().toString());
        body.put("invoices_created", run.created());
        body.put("invoices_existing", run.existing());
        body.put("data", run.invoices().stream().map(InvoiceRoutes::view).toList());
        ctx.json(body);
    }

    private void listPeriod(Context ctx) {
        guard.operator(ctx);
        String text = ctx.queryParam("period");
        if (text == null || text.isBlank()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "period is required (a month: 2026-11)", Map.of("field", "period"));
        }
        YearMonth period = period(text, "period");
        ctx.json(Map.of("period", period.toString(), "data", invoicing.list(period).stream().map(InvoiceRoutes::view).toList()));
    }

    private void finalizeDraft(Context ctx) {
        guard.operator(ctx);
        UUID id = id(ctx).orElseThrow(() -> notFound(ctx));
        ctx.json(view(invoicing.finalizeDraft(id, "operator", Edge.requestId(ctx))));
    }

    private void voidInvoice(Context ctx) {
        guard.operator(ctx);
        UUID id = id(ctx).orElseThrow(() -> notFound(ctx));
        ctx.json(view(invoicing.voidInvoice(id, "operator", Edge.requestId(ctx))));
    }

    private static Optional<UUID> id(Context ctx) {
        try {
            return Optional.of(UUID.fromString(ctx.pathParam("id")));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static SomaException notFound(Context ctx) {
        String id = ctx.pathParam("id");
        return new SomaException(ErrorCode.NOT_FOUND, "No invoice %s".formatted(id.length() > 64 || !id.matches("^[A-Za-z0-9-]*$") ? "with that id" : id));
    }

    /** A period {@code 2026-11}, or a 400 naming {@code name}. */
    static YearMonth period(String text, String name) {
        try {
            if (text.length() != 7) {
                throw new DateTimeParseException("not yyyy-MM", text, 0);
            }
            YearMonth period = YearMonth.parse(text);
            if (period.getYear() < 1) {
                throw new DateTimeParseException("before 0001", text, 0);
            }
            return period;
        } catch (DateTimeParseException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "%s must be a month such as 2026-11".formatted(name), Map.of("field", name));
        }
    }

    private static String fileName(Invoice invoice) {
        return invoice.number().orElse("draft-" + invoice.period());
    }

    /** An invoice as the API shows it: amounts as decimal strings, rounded ones with two places. */
    static Map<String, Object> view(Invoice invoice) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", invoice.id().map(UUID::toString).orElse(null));
        view.put("number", invoice.number().orElse(null));
        view.put("status", invoice.status().wire());
        view.put("tenant_id", invoice.tenantId().toString());
        view.put("period", invoice.period().toString());
        view.put("currency", invoice.currency());
        view.put("lines", invoice.lines().stream().map(line -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("sku", line.sku());
            row.put("description", line.description());
            row.put("pricing", line.pricing());
            row.put("quantity", line.quantity().toPlainString());
            row.put("unit", line.unit());
            row.put("unit_price", line.unitPrice().map(Money::toPlainString).orElse(null));
            row.put("exact_amount", line.exactAmount().toPlainString());
            row.put("amount", cents(line.amount()));
            return row;
        }).toList());
        view.put("ledger_total", invoice.ledgerTotal().toPlainString());
        view.put("subtotal", cents(invoice.subtotal()));
        view.put("tax_rate", invoice.taxRate().stripTrailingZeros().toPlainString());
        view.put("tax", cents(invoice.tax()));
        view.put("total", cents(invoice.total()));
        view.put("created_at", invoice.createdAt().toString());
        view.put("finalized_at", invoice.finalizedAt().map(Instant::toString).orElse(null));
        view.put("voided_at", invoice.voidedAt().map(Instant::toString).orElse(null));
        return view;
    }

    private static String cents(Money amount) {
        return amount.roundedForInvoice().toPlainString();
    }

    /** {@code POST /v1/admin/invoices/runs}: the period, and whether its invoices are finalized (default) or left as drafts. */
    record RunRequest(String period, @JsonProperty("finalize") Boolean finalizeInvoices) {
    }
}
