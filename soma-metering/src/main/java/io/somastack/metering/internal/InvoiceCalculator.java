package io.somastack.metering.internal;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.metering.Invoice;
import io.somastack.metering.SkuPrice;
import io.somastack.metering.Skus;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/**
 * Computes a tenant's invoice lines for one period from its ledger rows and the catalog, and
 * the charges its close must add to the ledger so that the lines equal the ledger: the platform
 * fee of the tenant's tier, and per priced SKU the catalog's amount for the period's quantity
 * minus what the rows cost when written. The same code makes the upcoming invoice (charges
 * computed, not written) and the closed one (charges written first).
 */
public final class InvoiceCalculator {
    /**
     * Each SKU's quantity and exact amount in the period. A token row splits into its input part
     * (tokens times the input price, exact NUMERIC arithmetic) and its output part (the row's cost
     * minus the input part), so the two lines add up to the row exactly. A row's egress bytes are
     * also an {@code egress} quantity in GB (10^9 bytes) at no cost, which the catalog then prices. A late row (one that
     * arrived after its own period had closed, moved here by the ledger's trigger) goes to its own
     * {@code late:<sku>} line, billed at what it cost when written. The tenant's rows are read once (one
     * index-only scan of {@code usage_ledger_invoice_lines}) and summed per meter, model and SKU before they
     * are split into lines: NUMERIC sums of products are exact, so the lines are the same as summing each
     * row's parts, and a tenant's close reads its rows once instead of once per kind of line.
     */
    private static final String GROUPS = """
            WITH sums AS (
                SELECT meter, model, sku, late_of IS NOT NULL AS late, sum(input_tokens) AS input_tokens,
                       sum(output_tokens) AS output_tokens, sum(input_tokens * input_per_million) AS input_cost, sum(cost) AS cost,
                       sum(coalesce(quantity, 0)) AS quantity, max(upstream_model) FILTER (WHERE meter = 'tool_call') AS kind,
                       sum(egress_bytes) FILTER (WHERE egress_bytes > 0) AS egress_bytes
                FROM usage_ledger WHERE tenant_id = :tenant AND period = :period
                GROUP BY meter, model, sku, late_of IS NOT NULL
            )
            SELECT CASE WHEN late THEN 'late:' || sku ELSE sku END AS sku, max(kind) AS kind, sum(quantity) AS quantity,
                   sum(amount) AS amount FROM (
                SELECT 'tokens.input:' || model AS sku, NULL AS kind, input_tokens * 0.000001 AS quantity,
                       input_cost * 0.000001 AS amount, late
                FROM sums WHERE meter = 'model.tokens'
                UNION ALL
                SELECT 'tokens.output:' || model, NULL, output_tokens * 0.000001, cost - input_cost * 0.000001, late
                FROM sums WHERE meter = 'model.tokens'
                UNION ALL
                SELECT coalesce(sku, CASE meter WHEN 'tool_call' THEN 'tool_call:' || substr(model, 6)
                                                WHEN 'memory.storage' THEN 'memory_storage' ELSE meter END),
                       kind, quantity, cost, late
                FROM sums WHERE meter <> 'model.tokens'
                UNION ALL
                SELECT 'egress', NULL, egress_bytes * 0.000000001, 0, late
                FROM sums WHERE egress_bytes IS NOT NULL
            ) AS rows GROUP BY 1 ORDER BY 1""";

    /** The line of rows that arrived after their period closed: {@code late:<sku>}. */
    public static final String LATE = "late:";

    private InvoiceCalculator() {
    }

    /** What the close of the period must add to the ledger for the lines to equal it. */
    public record Charge(String sku, String meter, BigDecimal quantity, String unit, Money cost) {
    }

    /** The lines (exact and rounded) and the charges not yet in the ledger. */
    public record Computed(List<Invoice.Line> lines, List<Charge> pending) {
    }

    public static Computed compute(Handle handle, TenantId tenant, String tier, LocalDate period, Map<String, SkuPrice> prices) {
        Map<String, Group> groups = new LinkedHashMap<>();
        handle.createQuery(GROUPS).bind("tenant", tenant.value()).bind("period", period)
                .map((rs, ctx) -> new Group(rs.getString("sku"), Optional.ofNullable(rs.getString("kind")), rs.getBigDecimal("quantity"),
                        Money.of(rs.getBigDecimal("amount"))))
                .forEach(group -> groups.put(group.sku(), group));
        String fee = Skus.PLATFORM_FEE + tier;
        if (prices.containsKey(fee) && !groups.containsKey(fee)) {
            groups.put(fee, new Group(fee, Optional.empty(), BigDecimal.ZERO, Money.ZERO));
        }
        List<Invoice.Line> lines = new ArrayList<>();
        List<Charge> pending = new ArrayList<>();
        for (Group group : groups.values()) {
            boolean late = group.sku().startsWith(LATE);
            Optional<SkuPrice> price = late ? Optional.empty() : Optional.ofNullable(prices.get(group.sku()))
                    .or(() -> group.kind().map(kind -> prices.get(Skus.TOOL_CALL + kind)));
            BigDecimal quantity = group.quantity();
            String unit = Skus.unit(late ? group.sku().substring(LATE.length()) : group.sku()).orElse("");
            Money exact = group.amount();
            if (group.sku().startsWith(Skus.PLATFORM_FEE) && quantity.signum() == 0) {
                quantity = BigDecimal.ONE;
                Money amount = price.orElseThrow().amount(quantity);
                pending.add(new Charge(group.sku(), "platform_fee", BigDecimal.ONE, "month", amount.minus(exact)));
                exact = amount;
            } else if (price.isPresent()) {
                Money amount = price.get().amount(quantity);
                if (amount.compareTo(exact) != 0) {
                    pending.add(new Charge(group.sku(), "invoice.adjustment", BigDecimal.ZERO, unit, amount.minus(exact)));
                }
                exact = amount;
            }
            if (price.isPresent()) {
                unit = price.get().unit();
            }
            lines.add(new Invoice.Line(group.sku(), describe(group.sku()), price.map(p -> p.pricing().wire()).orElse("ledger"),
                    quantity.stripTrailingZeros(), unit, price.flatMap(SkuPrice::unitPrice), exact,
                    Money.of(exact.roundedForInvoice())));
        }
        lines.sort(java.util.Comparator.comparing(Invoice.Line::sku));
        return new Computed(lines, pending);
    }

    private static String describe(String sku) {
        if (sku.startsWith(LATE)) {
            return "Late usage of a closed period: " + describe(sku.substring(LATE.length()));
        }
        int colon = sku.indexOf(':');
        String name = colon < 0 ? "" : sku.substring(colon + 1);
        return switch (colon < 0 ? sku : sku.substring(0, colon)) {
            case "tokens.input" -> "Input tokens, " + name;
            case "tokens.output" -> "Output tokens, " + name;
            case "tool_call" -> "Tool calls, " + name;
            case "platform_fee" -> "Platform fee, tier " + name;
            case "capsule" -> "Marketplace capsule " + name;
            case Skus.JOB_MINUTE -> "Job minutes";
            case Skus.MEMORY_STORAGE -> "Memory storage";
            case Skus.EGRESS -> "Egress";
            case Skus.CREDIT -> "Credit";
            default -> sku;
        };
    }

    private record Group(String sku, Optional<String> kind, BigDecimal quantity, Money amount) {
    }
}
