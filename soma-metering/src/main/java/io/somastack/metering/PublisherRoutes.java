package io.somastack.metering;

import static io.javalin.apibuilder.ApiBuilder.get;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Guard;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code GET /v1/admin/publishers/{publisher}/statements/{period}} (operator): what a publisher's capsules earned in a period. */
public final class PublisherRoutes implements EndpointGroup {
    private final Guard guard;
    private final PublisherStatements statements;
    private final String currency;

    public PublisherRoutes(Guard guard, PublisherStatements statements, String currency) {
        this.guard = requireNonNull(guard, "guard is null");
        this.statements = requireNonNull(statements, "statements is null");
        this.currency = requireNonNull(currency, "currency is null");
    }

    @Override
    public void addEndpoints() {
        get("/v1/admin/publishers/{publisher}/statements/{period}", this::statement);
    }

    private void statement(Context ctx) {
        guard.operator(ctx);
        String publisher = ctx.pathParam("publisher");
        if (!publisher.matches("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "publisher must be a publisher's name (letters, digits, '.', '_', '-')",
                    Map.of("field", "publisher"));
        }
        PublisherStatements.Statement statement = statements.statement(publisher, InvoiceRoutes.period(ctx.pathParam("period"), "period"));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("publisher", statement.publisher());
        body.put("period", statement.period().toString());
        body.put("currency", currency);
        body.put("lines", statement.lines().stream().map(line -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("sku", line.sku());
            row.put("runs", line.runs());
            row.put("quantity", line.quantity().toPlainString());
            row.put("unit", line.unit().orElse(null));
            row.put("gross", line.gross().toPlainString());
            row.put("revenue_share", line.revenueShare().toPlainString());
            row.put("exact_earned", line.exactEarned().toPlainString());
            row.put("earned", cents(line.earned()));
            return row;
        }).toList());
        body.put("gross", statement.gross().toPlainString());
        body.put("total", cents(statement.total()));
        ctx.json(body);
    }

    private static String cents(Money amount) {
        return amount.amount().setScale(2, java.math.RoundingMode.UNNECESSARY).toPlainString();
    }
}
