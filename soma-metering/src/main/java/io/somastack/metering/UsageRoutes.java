package io.somastack.metering;

import static io.javalin.apibuilder.ApiBuilder.get;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Instants;
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
 * {@code GET /v1/usage?from=&to=&group_by=model|key|day|capsule}: the caller's tenant's usage in
 * {@code [from, to)} (dates or instants, UTC, in the years 0001 to 9999; default: this month so
 * far); a bad {@code from} or {@code to} is a 400 naming it. By capsule, usage made for no
 * capsule (a client's own calls) is the row whose {@code capsule} is null. Sums are computed
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

    /**
     * A query parameter's instant: a date (UTC midnight) or an RFC 3339 instant in the years 0001
     * to 9999 ({@link Instants}); absent or blank is {@code defaultValue}; anything else is a 400
     * naming {@code name}.
     */
    static Instant instant(String text, String name, Instant defaultValue) {
        if (text == null || text.isBlank()) {
            return defaultValue;
        }
        if (text.length() == 10) {
            try {
                Instant midnight = LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant();
                Instants.rangeProblem(name, midnight).ifPresent(problem -> {
                    throw new SomaException(ErrorCode.VALUE_OUT_OF_RANGE, problem, Map.of("field", name));
                });
                return midnight;
            } catch (DateTimeParseException e) {
                throw new SomaException(ErrorCode.INVALID_REQUEST,
                        "%s='%s' is neither a date (2026-11-01) nor an instant (2026-11-01T00:00:00Z)".formatted(name, shown(text)));
            }
        }
        return Instants.parse(name, text);
    }

    /** A client's text as quoted in a problem: printable, and not too long. */
    private static String shown(String text) {
        String printable = text.codePoints().map(c -> Character.isISOControl(c) || Character.getType(c) == Character.SURROGATE ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return printable.length() > 64 ? printable.substring(0, 64) + "..." : printable;
    }
}
