package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.Tenant;
import io.somastack.gateway.TenantTraffic;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Requests, errors and p50/p95/p99 latency per hour over the last 48 hours, from the gateway's
 * {@link TenantTraffic}: a section of a tenant's Overview, and the operator's Traffic page (all
 * tenants added up, or the one picked).
 */
public final class TrafficPages {
    private static final Duration SPAN = Duration.ofHours(48);
    private static final double[] QUANTILES = {0.50, 0.95, 0.99};

    private final TenantTraffic traffic;
    private final Tenants tenants;
    private final Duration flushInterval;
    private final Clock clock;

    public TrafficPages(TenantTraffic traffic, Tenants tenants, Duration flushInterval, Clock clock) {
        this.traffic = requireNonNull(traffic, "traffic is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
        this.flushInterval = requireNonNull(flushInterval, "flushInterval is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** The operator's pick: {@code ?tenant=<id>}, absent or blank for all tenants; anything else is a 400. */
    static Optional<TenantId> tenantParameter(Context ctx) {
        return Optional.ofNullable(ctx.queryParam("tenant")).filter(text -> !text.isBlank())
                .map(text -> new TenantId(Ids.parseUuid(text.trim(), "tenant id")));
    }

    /** The operator's Traffic page. */
    void page(Context ctx, Session session) {
        Optional<TenantId> picked = tenantParameter(ctx);
        StringBuilder options = new StringBuilder("<option value=\"\">All tenants</option>");
        for (Tenant tenant : tenants.list()) {
            options.append("<option value=\"%s\"%s>%s</option>".formatted(tenant.id().value(),
                    picked.equals(Optional.of(tenant.id())) ? " selected" : "", Html.text(tenant.name())));
        }
        Layout.render(ctx, "Traffic", Optional.of(session), """
                <form method="get" action="/console/traffic" class="filters">
                <label for="tenant">Tenant</label><select id="tenant" name="tenant">%s</select>
                <button type="submit">Show</button>
                </form>
                %s""".formatted(options, section(picked)), "uPlot.iife.min.js", "overview.js");
    }

    /** The section: totals of the 48 hours, requests and errors per hour, and latency percentiles per hour. */
    String section(Optional<TenantId> tenant) {
        Instant to = clock.now().truncatedTo(ChronoUnit.HOURS).plus(Duration.ofHours(1));
        Instant from = to.minus(SPAN);
        List<TenantTraffic.Hour> hours = traffic.hourly(tenant, from, to);
        TreeSet<Instant> times = new TreeSet<>();
        Map<Instant, Long> requests = new LinkedHashMap<>();
        Map<Instant, Long> clientErrors = new LinkedHashMap<>();
        Map<Instant, Long> serverErrors = new LinkedHashMap<>();
        List<Map<Instant, BigDecimal>> percentiles = List.of(new LinkedHashMap<>(), new LinkedHashMap<>(), new LinkedHashMap<>());
        for (TenantTraffic.Hour hour : hours) {
            times.add(hour.hour());
            requests.put(hour.hour(), hour.requests());
            clientErrors.put(hour.hour(), hour.clientErrors());
            serverErrors.put(hour.hour(), hour.serverErrors());
            for (int i = 0; i < QUANTILES.length; i++) {
                int index = i;
                hour.percentileMs(QUANTILES[i]).ifPresent(ms -> percentiles.get(index).put(hour.hour(),
                        BigDecimal.valueOf(ms).setScale(2, RoundingMode.HALF_EVEN)));
            }
        }
        Chart counts = new Chart(from, to, times).series("requests", "requests", requests, 0L)
                .series("client errors (4xx)", "requests", clientErrors, 0L).series("server errors (5xx)", "requests", serverErrors, 0L);
        Chart latency = new Chart(from, to, times);
        for (int i = 0; i < QUANTILES.length; i++) {
            latency.series("p" + Math.round(QUANTILES[i] * 100), "ms", percentiles.get(i), null);
        }
        return """
                <section aria-labelledby="traffic-title"><h2 id="traffic-title">Requests and errors per hour, last 48 hours (UTC)</h2>
                <dl class="figures">
                <div><dt>Requests</dt><dd id="traffic-requests">%d</dd></div>
                <div><dt>Client errors (4xx)</dt><dd id="traffic-client-errors">%d</dd></div>
                <div><dt>Server errors (5xx)</dt><dd id="traffic-server-errors">%d</dd></div>
                </dl>
                <div id="traffic-chart" class="chart" data-series="%s" data-empty="No API requests in the last 48 hours."></div>
                <h2 id="latency-title">Latency per hour: p50, p95 and p99 (ms)</h2>
                <div id="latency-chart" class="chart" data-series="%s" data-empty="No API requests in the last 48 hours."></div>
                <p class="hint">API requests made with a key or session token of %s, counted by each node in memory and written every %s;
                a node that stops abruptly loses at most that much. Percentiles are estimated from a histogram (buckets from 1 ms to
                60 s), as Prometheus does.</p>
                </section>""".formatted(requests.values().stream().mapToLong(Long::longValue).sum(),
                clientErrors.values().stream().mapToLong(Long::longValue).sum(), serverErrors.values().stream().mapToLong(Long::longValue).sum(),
                Html.text(Json.text(counts.data())), Html.text(Json.text(latency.data())),
                tenant.isPresent() ? "the tenant" : "every tenant", Html.text(flushInterval.toString().substring(2).toLowerCase(Locale.ROOT)));
    }
}
