package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.ApiKey;
import io.somastack.gateway.Tenant;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.metering.Ledger;
import io.somastack.metering.UsageRollups;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Function;

/**
 * The tenant's Overview and Usage pages and the usage CSV. Every number is read from the hourly
 * rollups that the ledger's trigger maintains ({@link UsageRollups}); periods are whole UTC days,
 * so each total equals {@code GET /v1/usage} for the same {@code from} and {@code to}.
 */
public final class UsagePages {
    private final UsageRollups rollups;
    private final Tenants tenants;
    private final TrafficPages traffic;
    private final MeterRegistry meters;
    private final Clock clock;

    public UsagePages(UsageRollups rollups, Tenants tenants, TrafficPages traffic, MeterRegistry meters, Clock clock) {
        this.rollups = requireNonNull(rollups, "rollups is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
        this.traffic = requireNonNull(traffic, "traffic is null");
        this.meters = requireNonNull(meters, "meters is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    void overview(Context ctx, Session session) {
        TenantId tenantId = session.tenant().orElseThrow();
        Tenant tenant = tenants.find(tenantId).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "The tenant no longer exists"));
        Instant now = clock.now();
        LocalDate today = now.atZone(ZoneOffset.UTC).toLocalDate();
        Instant monthStart = today.withDayOfMonth(1).atStartOfDay(ZoneOffset.UTC).toInstant();
        Instant monthEnd = today.withDayOfMonth(1).plusMonths(1).atStartOfDay(ZoneOffset.UTC).toInstant();
        Instant tomorrow = today.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
        UsageRollups.Filter month = new UsageRollups.Filter(tenantId, monthStart, tomorrow, Optional.empty(), Optional.empty());
        List<Ledger.UsageSum> byModel = rollups.summarize(month, Ledger.GroupBy.MODEL);
        Money spent = byModel.stream().map(Ledger.UsageSum::cost).reduce(Money.ZERO, Money::plus);
        long calls = byModel.stream().mapToLong(Ledger.UsageSum::calls).sum();
        long tokens = byModel.stream().mapToLong(sum -> sum.inputTokens() + sum.outputTokens()).sum();

        // Month-end forecast: this month's spend so far, extended at the same rate to the month's end.
        // An estimate, never billed: Money rounds the quotient (its one place for rounding).
        long elapsed = Math.max(1, Duration.between(monthStart, now).toSeconds());
        long whole = Duration.between(monthStart, monthEnd).toSeconds();
        Money forecast = spent.timesQuantity(BigDecimal.valueOf(whole)).dividedBy(elapsed);
        String budget = tenant.monthlyBudget().map(limit -> """
                <p>Budget <strong>%s</strong>: spent <strong>%s</strong>, forecast at month end <strong>%s</strong>%s.</p>
                <meter id="budget-meter" min="0" max="%s" value="%s" aria-label="Budget spent">%s of %s</meter>
                """.formatted(usd(limit), usd(spent), usd(forecast), forecast.compareTo(limit) > 0 ? " (over budget)" : "",
                limit.amount().toPlainString(), spent.amount().min(limit.amount()).toPlainString(), usd(spent), usd(limit)))
                .orElse("<p>No monthly budget: spent <strong>%s</strong>, forecast at month end <strong>%s</strong>.</p>"
                        .formatted(usd(spent), usd(forecast)));

        Instant chartFrom = now.minus(Duration.ofHours(48)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        Instant chartTo = now.truncatedTo(java.time.temporal.ChronoUnit.HOURS).plus(Duration.ofHours(1));
        UsageRollups.Filter last48 = new UsageRollups.Filter(tenantId, chartFrom, chartTo, Optional.empty(), Optional.empty());
        // One query for the 48 hours, drawn by model and by capsule and added up by capsule (exact Money sums).
        List<UsageRollups.Point> points = rollups.hourly(last48);
        Chart byModelChart = chart(points, UsageRollups.Point::model, chartFrom, chartTo, false);
        Chart byCapsuleChart = chart(points, point -> label(point.capsule().orElse(null)), chartFrom, chartTo, true);
        String rows = rows(byModel, "model", "");
        String capsuleRows = rows(UsageRollups.sum(points, Ledger.GroupBy.CAPSULE), "capsule", "capsule-");
        Layout.render(ctx, "Overview", Optional.of(session), """
                <section aria-labelledby="month"><h2 id="month">This month</h2>
                <dl class="figures">
                <div><dt>Calls</dt><dd id="month-calls">%d</dd></div>
                <div><dt>Tokens</dt><dd id="month-tokens">%d</dd></div>
                <div><dt>Cost</dt><dd id="month-cost">%s</dd></div>
                </dl>%s</section>
                %s
                <section aria-labelledby="chart-title"><h2 id="chart-title">Tokens per hour, last 48 hours, by model (UTC)</h2>
                <div id="usage-chart" class="chart" data-series="%s" data-empty="No usage in the last 48 hours."></div>
                </section>
                <section aria-labelledby="models"><h2 id="models">By model this month</h2>%s</section>
                <section aria-labelledby="capsule-chart-title"><h2 id="capsule-chart-title">Tokens and cost per hour, last 48 hours, by capsule (UTC)</h2>
                <div id="capsule-chart" class="chart" data-series="%s" data-empty="No usage in the last 48 hours."></div>
                <p class="hint">A capsule's usage is its agent runs' model calls, its tools' calls and its run charges; "no capsule" is
                the keys' own API calls and everything else. Cost is drawn dashed, on the right axis.</p>
                %s</section>
                <section aria-labelledby="refusals"><h2 id="refusals">Refusals since this node started</h2>
                <dl class="figures"><div><dt>Rate limit</dt><dd id="ratelimit-refusals">%d</dd></div>
                <div><dt>Budget</dt><dd id="budget-refusals">%d</dd></div></dl></section>
                """.formatted(calls, tokens, Html.text(usd(spent)), budget, traffic.section(Optional.of(tenantId)),
                Html.text(Json.text(byModelChart.data())), rows,
                Html.text(Json.text(byCapsuleChart.data())), capsuleRows, refusals("soma.ratelimit.rejections", tenantId), refusals("soma.budget.rejections", tenantId)),
                "uPlot.iife.min.js", "overview.js");
    }

    void usage(Context ctx, Session session) {
        Query query = Query.of(ctx, clock.now());
        TenantId tenantId = session.tenant().orElseThrow();
        UsageRollups.Filter filter = query.filter(tenantId);
        List<Ledger.UsageSum> sums = rollups.summarize(filter, query.groupBy());
        List<ApiKey> keys = tenants.keys(tenantId);
        TreeSet<String> models = new TreeSet<>(rollups.models(new UsageRollups.Filter(tenantId, filter.from(), filter.to(),
                Optional.empty(), Optional.empty())));
        query.model().ifPresent(models::add);
        StringBuilder modelOptions = new StringBuilder("<option value=\"\">All models</option>");
        models.forEach(model -> modelOptions.append(option(model, model, query.model().equals(Optional.of(model)))));
        StringBuilder keyOptions = new StringBuilder("<option value=\"\">All keys</option>");
        keys.forEach(key -> keyOptions.append(option(key.id().toString(), key.name() + " (" + key.prefix() + "…)",
                query.key().equals(Optional.of(key.id())))));
        StringBuilder groupOptions = new StringBuilder();
        for (Ledger.GroupBy groupBy : Ledger.GroupBy.values()) {
            String name = groupBy.name().toLowerCase(Locale.ROOT);
            groupOptions.append(option(name, name, groupBy == query.groupBy()));
        }
        Layout.render(ctx, "Usage", Optional.of(session), """
                <form method="get" action="/console/usage" class="filters">
                <label for="from">From (UTC day)</label><input id="from" name="from" type="date" value="%s" required>
                <label for="to">Until (UTC day, not included)</label><input id="to" name="to" type="date" value="%s" required>
                <label for="model">Model</label><select id="model" name="model">%s</select>
                <label for="key">Key</label><select id="key" name="key">%s</select>
                <label for="group_by">Group by</label><select id="group_by" name="group_by">%s</select>
                <button type="submit">Show</button>
                </form>
                %s
                <p><a id="csv" href="/console/usage.csv?%s">Download CSV</a></p>
                """.formatted(query.from(), query.to(), modelOptions, keyOptions, groupOptions,
                rows(sums, query.groupBy().name().toLowerCase(Locale.ROOT), ""), Html.text(query.queryString())));
    }

    /** Refuses bad filters (400, naming the parameter). */
    void validate(Context ctx) {
        Query.of(ctx, clock.now());
    }

    void csv(Context ctx, Session session) {
        Query query = Query.of(ctx, clock.now());
        List<Ledger.UsageSum> sums = rollups.summarize(query.filter(session.tenant().orElseThrow()), query.groupBy());
        StringBuilder csv = new StringBuilder(query.groupBy().name().toLowerCase(Locale.ROOT))
                .append(",calls,input_tokens,output_tokens,cost,includes_estimates\r\n");
        for (Ledger.UsageSum sum : sums) {
            csv.append(sum.group() == null ? "" : csvField(sum.group())).append(',').append(sum.calls()).append(',').append(sum.inputTokens()).append(',')
                    .append(sum.outputTokens()).append(',').append(sum.cost().toPlainString()).append(',').append(sum.anyEstimated()).append("\r\n");
        }
        ctx.header("Content-Disposition", "attachment; filename=\"usage-%s-%s.csv\"".formatted(query.from(), query.to()));
        ctx.header("Cache-Control", "no-store");
        ctx.contentType("text/csv; charset=utf-8").result(csv.toString());
    }

    /**
     * A table of sums with a totals row; the total cost is the exact sum of the rows. Its ids
     * ({@code usage-table}, {@code total-cost}, ...) start with {@code ids}, so a page can hold two.
     */
    private static String rows(List<Ledger.UsageSum> sums, String group, String ids) {
        if (sums.isEmpty()) {
            return "<p id=\"%sno-usage\">No usage in this period.</p>".formatted(ids);
        }
        StringBuilder table = new StringBuilder("""
                <table id="%susage-table"><caption>Usage by %s</caption><thead><tr><th scope="col">%s</th><th scope="col">Calls</th>
                <th scope="col">Input tokens</th><th scope="col">Output tokens</th><th scope="col">Cost (USD)</th></tr></thead><tbody>
                """.formatted(ids, Html.text(group), Html.text(group)));
        long calls = 0;
        long input = 0;
        long output = 0;
        Money cost = Money.ZERO;
        for (Ledger.UsageSum sum : sums) {
            table.append("<tr><th scope=\"row\">%s</th><td>%d</td><td>%d</td><td>%d</td><td>%s%s</td></tr>\n".formatted(Html.text(label(sum.group())),
                    sum.calls(), sum.inputTokens(), sum.outputTokens(), Html.text(sum.cost().toPlainString()), sum.anyEstimated() ? " (estimated)" : ""));
            calls += sum.calls();
            input += sum.inputTokens();
            output += sum.outputTokens();
            cost = cost.plus(sum.cost());
        }
        table.append("""
                </tbody><tfoot><tr><th scope="row">Total</th><td id="%1$stotal-calls">%2$d</td><td id="%1$stotal-input">%3$d</td>
                <td id="%1$stotal-output">%4$d</td><td id="%1$stotal-cost">%5$s</td></tr></tfoot></table>"""
                .formatted(ids, calls, input, output, Html.text(cost.toPlainString())));
        return table.toString();
    }

    /** A group as shown: usage grouped by capsule has a group of no capsule (null). */
    private static String label(String group) {
        return group == null ? "no capsule" : group;
    }

    /**
     * Tokens per hour of each model or capsule ({@code withCost}: and its cost, exact NUMERIC
     * values as JSON numbers) over {@code [from, to)}.
     */
    private static Chart chart(List<UsageRollups.Point> points, Function<UsageRollups.Point, String> group, Instant from,
            Instant to, boolean withCost) {
        TreeSet<Instant> hours = new TreeSet<>();
        Map<String, Map<Instant, Long>> tokens = new TreeMap<>();
        Map<String, Map<Instant, BigDecimal>> cost = new TreeMap<>();
        for (UsageRollups.Point point : points) {
            hours.add(point.hour());
            tokens.computeIfAbsent(group.apply(point), name -> new LinkedHashMap<>()).merge(point.hour(), point.inputTokens() + point.outputTokens(),
                    Long::sum);
            cost.computeIfAbsent(group.apply(point), name -> new LinkedHashMap<>()).merge(point.hour(), point.cost().amount(), BigDecimal::add);
        }
        Chart chart = new Chart(from, to, hours);
        tokens.forEach((name, values) -> chart.series(name, "tokens", values, 0L));
        if (withCost) {
            cost.forEach((name, values) -> chart.series(name, "USD", values, BigDecimal.ZERO));
        }
        return chart;
    }

    private long refusals(String meter, TenantId tenant) {
        Counter counter = meters.find(meter).tag("tenant", tenant.value().toString()).counter();
        return counter == null ? 0 : (long) counter.count();
    }

    private static String option(String value, String label, boolean selected) {
        return "<option value=\"%s\"%s>%s</option>".formatted(Html.text(value), selected ? " selected" : "", Html.text(label));
    }

    private static String usd(Money money) {
        return money.toPlainString() + " USD";
    }

    private static String csvField(String value) {
        return value.contains(",") || value.contains("\"") || value.contains("\n") ? "\"" + value.replace("\"", "\"\"") + "\"" : value;
    }

    /** The Usage filters: whole UTC days {@code [from, to)}, an optional model and key, and the grouping. */
    record Query(LocalDate from, LocalDate to, Optional<String> model, Optional<UUID> key, Ledger.GroupBy groupBy) {
        static Query of(Context ctx, Instant now) {
            LocalDate today = now.atZone(ZoneOffset.UTC).toLocalDate();
            LocalDate from = date(ctx.queryParam("from"), "from", today.withDayOfMonth(1));
            LocalDate to = date(ctx.queryParam("to"), "to", today.plusDays(1));
            if (!from.isBefore(to)) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "from (%s) must be before to (%s)".formatted(from, to));
            }
            Optional<String> model = Optional.ofNullable(ctx.queryParam("model")).filter(text -> !text.isBlank());
            Optional<UUID> key;
            try {
                key = Optional.ofNullable(ctx.queryParam("key")).filter(text -> !text.isBlank()).map(UUID::fromString);
            } catch (IllegalArgumentException e) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "key must be a key id (a UUID)");
            }
            String group = ctx.queryParam("group_by");
            return new Query(from, to, model, key, Ledger.GroupBy.parse(group == null || group.isBlank() ? "model" : group));
        }

        private static LocalDate date(String text, String name, LocalDate defaultValue) {
            if (text == null || text.isBlank()) {
                return defaultValue;
            }
            try {
                LocalDate date = LocalDate.parse(text);
                if (date.getYear() < 1 || date.getYear() > 9998) {
                    throw new SomaException(ErrorCode.VALUE_OUT_OF_RANGE, "%s must be in the years 0001 to 9998".formatted(name));
                }
                return date;
            } catch (DateTimeParseException e) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "%s must be a date such as 2026-11-01".formatted(name));
            }
        }

        UsageRollups.Filter filter(TenantId tenant) {
            return new UsageRollups.Filter(tenant, from.atStartOfDay(ZoneOffset.UTC).toInstant(), to.atStartOfDay(ZoneOffset.UTC).toInstant(),
                    model, key);
        }

        String queryString() {
            return "from=" + from + "&to=" + to + model.map(value -> "&model=" + Html.url(value)).orElse("")
                    + key.map(value -> "&key=" + value).orElse("") + "&group_by=" + groupBy.name().toLowerCase(Locale.ROOT);
        }
    }
}
