package io.somastack.metering;

import static io.javalin.apibuilder.ApiBuilder.get;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /v1/usage?from=&to=&group_by=model|key|day}: the caller's tenant's usage in
 * {@code [from, to)} (dates or instants, UTC; default: this month so far). Sums are computed
 * by the database from the ledger rows, so they equal the ledger exactly.
 */
public final class UsageRoutes implements EndpointGroup {
    private final Guard guard;
    private final Ledger ledger;
    private final Clock clock;

    public UsageRoutes(Guard guard, Ledger ledger, Clock clock) {
        this.guard = requireNonNull(guard, "guard is null");
        this.ledger = requireNonNull(ledger, "ledger is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void addEndpoints() {
        get("/v1/usage", this::usage);
    }

    private void usage(Context ctx) {
        Principal principal = guard.tenant(ctx, "usage:read");
        Instant now = clock.now();
        Instant from = instant(ctx.queryParam("from"), "from", Ledger.period(now).atStartOfDay(ZoneOffset.UTC).toInstant());
        Instant to = instant(ctx.queryParam("to"), "to", now.plusSeconds(1));
        if (!from.isBefore(to)) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "from (%s) must be before to (%s)".formatted(from, to));
        }
        Ledger.GroupBy groupBy = Ledger.GroupBy.parse(ctx.queryParam("group_by") == null ? "model" : ctx.queryParam("group_by"));
        List<Ledger.UsageSum> sums = ledger.summarize(principal.tenant().id(), from, to, groupBy);
        Money total = sums.stream().map(Ledger.UsageSum::cost).reduce(Money.ZERO, Money::plus);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("tenant_id", principal.tenant().id().toString());
        body.put("from", from.toString());
        body.put("to", to.toString());
        body.put("group_by", groupBy.name().toLowerCase(java.util.Locale.ROOT));
        body.put("currency", "USD");
        body.put("data", sums.stream().map(sum -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put(groupBy.name().toLowerCase(java.util.Locale.ROOT), sum.group());
            row.put("calls", sum.calls());
            row.put("input_tokens", sum.inputTokens());
            row.put("output_tokens", sum.outputTokens());
            row.put("cost", sum.cost().toPlainString());
            row.put("includes_estimates", sum.anyEstimated());
            return row;
        }).toList());
        body.put("total_cost", total.toPlainString());
        ctx.json(body);
    }

    private static Instant instant(String text, String name, Instant defaultValue) {
        if (text == null || text.isBlank()) {
            return defaultValue;
        }
        try {
            return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant() : Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "%s='%s' is neither a date (2026-11-01) nor an instant (2026-11-01T00:00:00Z)".formatted(name, text));
        }
    }
}
