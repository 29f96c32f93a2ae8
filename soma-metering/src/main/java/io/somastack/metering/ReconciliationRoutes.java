package io.somastack.metering;

import static io.javalin.apibuilder.ApiBuilder.get;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Guard;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import java.time.YearMonth;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * {@code GET /v1/admin/reconciliation?period=2026-11} (operator): every difference between the
 * ledger and its billing events, and the late rows: rows that arrived for the period after its
 * invoice was made, with the period whose invoice bills them.
 */
public final class ReconciliationRoutes implements EndpointGroup {
    private final Guard guard;
    private final Reconciliation reconciliation;

    public ReconciliationRoutes(Guard guard, Reconciliation reconciliation) {
        this.guard = requireNonNull(guard, "guard is null");
        this.reconciliation = requireNonNull(reconciliation, "reconciliation is null");
    }

    @Override
    public void addEndpoints() {
        get("/v1/admin/reconciliation", this::reconcile);
    }

    private void reconcile(Context ctx) {
        guard.operator(ctx);
        String text = ctx.queryParam("period");
        if (text == null || text.isBlank()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "period is required (a month: 2026-11)", Map.of("field", "period"));
        }
        YearMonth period = InvoiceRoutes.period(text, "period");
        var differences = reconciliation.differences(period).stream().map(difference -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("kind", difference.kind().name().toLowerCase(Locale.ROOT));
            row.put("tenant_id", difference.tenantId() == null ? null : difference.tenantId().toString());
            row.put("ledger_id", difference.ledgerId().map(UUID::toString).orElse(null));
            row.put("event_id", difference.eventId().map(UUID::toString).orElse(null));
            row.put("ledger_cost", difference.ledgerCost().map(Money::toPlainString).orElse(null));
            row.put("event_cost", difference.eventCost().orElse(null));
            return row;
        }).toList();
        var late = reconciliation.lateRows(period).stream().map(row -> {
            Map<String, Object> view = new LinkedHashMap<>();
            view.put("ledger_id", row.ledgerId().toString());
            view.put("tenant_id", row.tenantId().toString());
            view.put("item", row.item());
            view.put("cost", row.cost().toPlainString());
            view.put("billed_in", row.billedIn().toString());
            return view;
        }).toList();
        ctx.json(Map.of("period", period.toString(), "balanced", differences.isEmpty(), "differences", differences, "late_rows", late));
    }
}
