package io.somastack.metering.internal;

import io.somastack.metering.Invoice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;

/** An invoice as a PDF (PDFBox, the standard Helvetica fonts) and as CSV. A draft's PDF says DRAFT in its title and on every page. */
public final class InvoiceDocuments {
    private static final float MARGIN = 50;
    private static final float LEADING = 14;

    private InvoiceDocuments() {
    }

    /** The invoice's lines, then subtotal, tax and total rows, as RFC 4180 CSV. */
    public static String csv(Invoice invoice) {
        StringBuilder csv = new StringBuilder("sku,description,pricing,quantity,unit,unit_price,exact_amount,amount,currency\r\n");
        for (Invoice.Line line : invoice.lines()) {
            row(csv, line.sku(), line.description(), line.pricing(), line.quantity().toPlainString(), line.unit(),
                    line.unitPrice().map(price -> price.amount().stripTrailingZeros().toPlainString()).orElse(""),
                    plain(line.exactAmount().amount()), line.amount().roundedForInvoice().toPlainString(), invoice.currency());
        }
        row(csv, "subtotal", "Subtotal", "", "", "", "", plain(invoice.ledgerTotal().amount()),
                invoice.subtotal().roundedForInvoice().toPlainString(), invoice.currency());
        row(csv, "tax", "Tax at " + invoice.taxRate().stripTrailingZeros().toPlainString(), "", "", "", "",
                plain(invoice.taxExact().amount()), invoice.tax().roundedForInvoice().toPlainString(), invoice.currency());
        row(csv, "total", "Total", "", "", "", "", "", invoice.total().roundedForInvoice().toPlainString(), invoice.currency());
        return csv.toString();
    }

    private static String plain(BigDecimal amount) {
        return amount.stripTrailingZeros().toPlainString();
    }

    private static void row(StringBuilder csv, String... fields) {
        for (int i = 0; i < fields.length; i++) {
            if (i > 0) {
                csv.append(',');
            }
            String field = fields[i];
            // A spreadsheet runs a cell that starts with = + - @ as a formula: quote such text as text.
            if (!field.isEmpty() && "=+-@".indexOf(field.charAt(0)) >= 0 && !field.matches("^-?[0-9.]+$")) {
                field = "'" + field;
            }
            if (field.contains(",") || field.contains("\"") || field.contains("\n") || field.contains("\r")) {
                field = "\"" + field.replace("\"", "\"\"") + "\"";
            }
            csv.append(field);
        }
        csv.append("\r\n");
    }

    /** The invoice as a one-or-more-page A4 PDF. */
    public static byte[] pdf(Invoice invoice) {
        boolean draft = invoice.status() == Invoice.Status.DRAFT;
        List<String> text = new ArrayList<>();
        text.add("Period " + invoice.period() + "    Tenant " + invoice.tenantName() + " (" + invoice.tenantId() + ")");
        text.add("Status " + invoice.status().wire() + "    Currency " + invoice.currency());
        text.add("");
        for (Invoice.Line line : invoice.lines()) {
            text.add(line.description());
            text.add("    %s %s%s = %s".formatted(line.quantity().toPlainString(), line.unit(),
                    line.unitPrice().map(price -> " x " + price.amount().stripTrailingZeros().toPlainString()).orElse(" (" + line.pricing() + ")"),
                    line.amount().roundedForInvoice().toPlainString()));
        }
        text.add("");
        text.add("Subtotal " + invoice.subtotal().roundedForInvoice().toPlainString());
        text.add("Tax (" + invoice.taxRate().stripTrailingZeros().toPlainString() + ") " + invoice.tax().roundedForInvoice().toPlainString());
        text.add("Total " + invoice.total().roundedForInvoice().toPlainString() + " " + invoice.currency());
        text.add("");
        text.add("Each line is rounded half-even to cents once; the total is the sum of the rounded lines.");
        String title = draft ? "DRAFT invoice (not final)" : "Invoice " + invoice.number().orElse("");
        try (PDDocument document = new PDDocument(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            PDType1Font bold = new PDType1Font(Standard14Fonts.FontName.HELVETICA_BOLD);
            PDType1Font regular = new PDType1Font(Standard14Fonts.FontName.HELVETICA);
            int index = 0;
            while (index < text.size() || document.getNumberOfPages() == 0) {
                PDPage page = new PDPage(PDRectangle.A4);
                document.addPage(page);
                try (PDPageContentStream content = new PDPageContentStream(document, page)) {
                    float y = page.getMediaBox().getHeight() - MARGIN;
                    write(content, bold, 16, MARGIN, y, title);
                    y -= 2 * LEADING;
                    if (draft) {
                        write(content, bold, 10, MARGIN, MARGIN / 2, "DRAFT - this invoice may still change");
                    }
                    while (index < text.size() && y > MARGIN) {
                        write(content, regular, 10, MARGIN, y, text.get(index++));
                        y -= LEADING;
                    }
                }
            }
            document.setAllSecurityToBeRemoved(true);
            document.getDocumentInformation().setTitle(title);
            document.save(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot render the invoice PDF", e);
        }
    }

    private static void write(PDPageContentStream content, PDType1Font font, float size, float x, float y, String line) throws IOException {
        content.beginText();
        content.setFont(font, size);
        content.newLineAtOffset(x, y);
        content.showText(winAnsi(line));
        content.endText();
    }

    /** The standard fonts encode WinAnsi only: anything else is shown as '?'. */
    private static String winAnsi(String text) {
        StringBuilder shown = new StringBuilder();
        text.codePoints().forEach(c -> shown.append(c >= 0x20 && c < 0x7f ? (char) c : '?'));
        return shown.toString();
    }
}
