package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.Tenant;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.metering.Invoice;
import io.somastack.metering.InvoiceRoutes;
import io.somastack.metering.Invoicing;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The tenant's Invoices pages: the list, one invoice (lines, subtotal, tax, total, state; a draft
 * says DRAFT) and its PDF, answered by {@link InvoiceRoutes#answerPdf} as {@code GET
 * /v1/invoices/{id}.pdf} is. They read {@link Invoicing} with the session's tenant, so another
 * tenant's invoice id is a 404 as on the JSON routes (scope {@code invoices:read}).
 */
public final class InvoicePages {
    private final Invoicing invoicing;
    private final Tenants tenants;

    public InvoicePages(Invoicing invoicing, Tenants tenants) {
        this.invoicing = requireNonNull(invoicing, "invoicing is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
    }

    void invoices(Context ctx, Session session) {
        List<Invoice> invoices = invoicing.list(tenant(session));
        StringBuilder rows = new StringBuilder();
        for (Invoice invoice : invoices) {
            UUID id = invoice.id().orElseThrow();
            rows.append("<tr><th scope=\"row\"><a href=\"/console/invoices/%s\">%s</a></th><td>%s</td><td>%s</td><td>%s %s</td></tr>\n".formatted(id,
                    Html.text(invoice.number().orElse("Draft " + invoice.period())), Html.text(invoice.period()), Html.text(state(invoice)),
                    Html.text(cents(invoice.total())), Html.text(invoice.currency())));
        }
        Layout.render(ctx, "Invoices", Optional.of(session), invoices.isEmpty() ? "<p id=\"no-invoices\">No invoice yet: a period is "
                + "invoiced once it is over.</p>" : """
                <table id="invoices"><caption>Invoices, newest period first</caption><thead><tr><th scope="col">Invoice</th>
                <th scope="col">Period</th><th scope="col">State</th><th scope="col">Total</th></tr></thead><tbody>%s</tbody></table>"""
                .formatted(rows));
    }

    void invoice(Context ctx, Session session) {
        Invoice invoice = mine(ctx, session);
        StringBuilder lines = new StringBuilder();
        for (Invoice.Line line : invoice.lines()) {
            lines.append("<tr><th scope=\"row\">%s</th><td>%s</td><td>%s %s</td><td>%s</td><td>%s</td></tr>\n".formatted(Html.text(line.sku()),
                    Html.text(line.description()), Html.text(line.quantity().stripTrailingZeros().toPlainString()), Html.text(line.unit()),
                    Html.text(line.unitPrice().map(Money::toPlainString).orElse(line.pricing())), Html.text(cents(line.amount()))));
        }
        String draft = invoice.status() == Invoice.Status.DRAFT
                ? "<p id=\"draft\" class=\"badge bad\">DRAFT: this invoice may still change until it is finalized</p>" : "";
        String title = invoice.number().map(number -> "Invoice " + number).orElse("Draft invoice " + invoice.period());
        Layout.render(ctx, title, Optional.of(session), """
                %s
                <p>Period <strong>%s</strong>, state <strong id="invoice-state">%s</strong>, currency %s, created %s.</p>
                <p><a id="invoice-pdf" href="/console/invoices/%s.pdf">Download the PDF</a></p>
                <table id="invoice-lines"><caption>Lines</caption><thead><tr><th scope="col">SKU</th><th scope="col">Description</th>
                <th scope="col">Quantity</th><th scope="col">Unit price</th><th scope="col">Amount</th></tr></thead><tbody>%s</tbody>
                <tfoot><tr><th scope="row" colspan="4">Subtotal</th><td id="invoice-subtotal">%s</td></tr>
                <tr><th scope="row" colspan="4">Tax (rate %s)</th><td id="invoice-tax">%s</td></tr>
                <tr><th scope="row" colspan="4">Total</th><td id="invoice-total">%s</td></tr></tfoot></table>
                <p class="hint">Each line is its exact ledger amount rounded half-even to cents; the exact sum of the ledger is %s.</p>
                """.formatted(draft, Html.text(invoice.period()), Html.text(state(invoice)), Html.text(invoice.currency()),
                Html.text(invoice.createdAt()), invoice.id().orElseThrow(), lines, Html.text(cents(invoice.subtotal())),
                Html.text(invoice.taxRate().stripTrailingZeros().toPlainString()), Html.text(cents(invoice.tax())), Html.text(cents(invoice.total())),
                Html.text(invoice.ledgerTotal().toPlainString())));
    }

    void pdf(Context ctx, Session session) {
        Invoice invoice = mine(ctx, session);
        Layout.secure(ctx);
        InvoiceRoutes.answerPdf(ctx, invoice);
    }

    /** The session tenant's invoice of the path; another tenant's, or no such id, is a 404. */
    private Invoice mine(Context ctx, Session session) {
        String text = ctx.pathParam("id");
        Optional<UUID> id;
        try {
            id = Optional.of(UUID.fromString(text));
        } catch (IllegalArgumentException e) {
            id = Optional.empty();
        }
        Tenant tenant = tenant(session);
        return id.flatMap(found -> invoicing.find(tenant, found)).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND,
                "No invoice %s".formatted(text.matches("^[A-Za-z0-9-]{1,64}$") ? text : "with that id")));
    }

    private Tenant tenant(Session session) {
        return tenants.authenticateSession(session.keyId().orElseThrow()).tenant();
    }

    private static String state(Invoice invoice) {
        return invoice.status().wire();
    }

    private static String cents(Money amount) {
        return amount.roundedForInvoice().toPlainString();
    }
}
