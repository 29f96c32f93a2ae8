package io.somastack.metering;

import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Guard;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code POST /v1/admin/exports/{target}} {@code {"period": "2026-11"}} (operator; target
 * {@code openmeter} or {@code lago}): sends the period's ledger rows to the configured server in
 * its published wire format. Safe to repeat: the receivers deduplicate by event id.
 */
public final class ExportRoutes implements EndpointGroup {
    private final Guard guard;
    private final UsageExport export;

    public ExportRoutes(Guard guard, UsageExport export) {
        this.guard = requireNonNull(guard, "guard is null");
        this.export = requireNonNull(export, "export is null");
    }

    /** The body: the period to export. */
    public record ExportRequest(String period) {
    }

    @Override
    public void addEndpoints() {
        post("/v1/admin/exports/{target}", this::export);
    }

    private void export(Context ctx) {
        guard.operator(ctx);
        UsageExport.Target target = switch (ctx.pathParam("target")) {
            case "openmeter" -> UsageExport.Target.OPENMETER;
            case "lago" -> UsageExport.Target.LAGO;
            default -> throw new SomaException(ErrorCode.NOT_FOUND, "No export target with that name (openmeter or lago)");
        };
        ExportRequest request = Json.read(ctx.bodyAsBytes(), ExportRequest.class);
        if (request.period() == null) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "period is required (a month: 2026-11)", Map.of("field", "period"));
        }
        UsageExport.Result result = export.export(target, InvoiceRoutes.period(request.period(), "period"));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("target", result.target().wire());
        body.put("period", result.period().toString());
        body.put("events", result.events());
        body.put("batches", result.batches());
        ctx.json(body);
    }
}
