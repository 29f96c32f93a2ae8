package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.jdbi.v3.core.Jdbi;

/**
 * Exports a period's ledger rows, every tenant's, to OpenMeter (its ingest API: a batch of
 * CloudEvents 1.0, {@code POST /api/v1/events}, {@code application/cloudevents-batch+json}) or to
 * Lago (its batch events API: {@code POST /api/v1/events/batch}, {@code {"events": [...]}}, at
 * most 100 per request, bearer API key). One event per ledger row, its id the row's id
 * (OpenMeter's {@code id}, Lago's {@code transaction_id}), so both deduplicate a re-export: an
 * export can run again after a failure or for a corrected period. A batch answered 429, 5xx or not
 * at all is retried with exponential backoff (5 attempts); another answer stops the export with a
 * 502 {@code export-failed} naming it. Thread-safe.
 */
public final class UsageExport implements AutoCloseable {
    /** Where to. */
    public enum Target {
        OPENMETER, LAGO;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** What an export sent. */
    public record Result(Target target, YearMonth period, int events, int batches) {
    }

    private static final int OPENMETER_BATCH = 500;
    private static final int LAGO_BATCH = 100;
    private static final int ATTEMPTS = 5;

    private final Jdbi jdbi;
    private final ExportConfig config;
    private final Function<String, Optional<String>> environment;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Duration firstBackoff;

    public UsageExport(Jdbi jdbi, ExportConfig config, Function<String, Optional<String>> environment, Duration firstBackoff) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.config = requireNonNull(config, "config is null");
        this.environment = requireNonNull(environment, "environment is null");
        this.firstBackoff = requireNonNull(firstBackoff, "firstBackoff is null");
    }

    /** Where a continuous export stands: the last row delivered, in (writing transaction, id) order. */
    public record Position(long txid, UUID id) {
        public static final Position START = new Position(Long.MIN_VALUE, new UUID(0, 0));
    }

    /** What one continuous step delivered: {@code events} rows, the last at {@code end}. */
    public record Delivered(int events, Position end) {
    }

    /** One ledger row, as exported. */
    private record Row(long txid, UUID id, UUID tenant, String meter, String item, long inputTokens, long outputTokens, BigDecimal quantity, String unit,
            BigDecimal cost, Instant at) {
        Map<String, Object> properties() {
            Map<String, Object> properties = new LinkedHashMap<>();
            properties.put("item", item);
            if (meter.equals("model.tokens")) {
                properties.put("input_tokens", inputTokens);
                properties.put("output_tokens", outputTokens);
            } else {
                properties.put("quantity", quantity == null ? "0" : quantity.stripTrailingZeros().toPlainString());
                properties.put("unit", unit == null ? "" : unit);
            }
            properties.put("cost", cost.stripTrailingZeros().toPlainString());
            return properties;
        }
    }

    /** Sends {@code period}'s ledger rows to {@code target}; a target not configured is a 409. */
    public Result export(Target target, YearMonth period) {
        URI base = base(target);
        List<Row> rows = jdbi.withHandle(handle -> handle.createQuery(SELECT + " WHERE period = :period ORDER BY created_at, id")
                .bind("period", period.atDay(1)).map(UsageExport::row).list());
        int size = batchSize(target);
        int batches = 0;
        for (int from = 0; from < rows.size(); from += size) {
            List<Row> batch = rows.subList(from, Math.min(rows.size(), from + size));
            send(target, target == Target.OPENMETER ? openMeter(base, batch) : lago(base, batch));
            batches++;
        }
        return new Result(target, period, rows.size(), batches);
    }

    /**
     * Sends the next batch of rows after {@code after} (one receiver batch at most) that can no longer be
     * preceded by another: written by transactions older than the oldest one still running (see V3_15).
     * Returns what was delivered (0 events when there is nothing new); a failure throws {@code export-failed}
     * after the retries, and nothing counts as delivered.
     */
    public Delivered deliverAfter(Target target, Position after) {
        URI base = base(target);
        List<Row> batch = jdbi.withHandle(handle -> handle.createQuery(SELECT + """
                 WHERE (export_txid, id) > (:txid, :id)
                   AND export_txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
                ORDER BY export_txid, id LIMIT :limit""")
                .bind("txid", after.txid()).bind("id", after.id()).bind("limit", batchSize(target)).map(UsageExport::row).list());
        if (batch.isEmpty()) {
            return new Delivered(0, after);
        }
        send(target, target == Target.OPENMETER ? openMeter(base, batch) : lago(base, batch));
        Row last = batch.getLast();
        return new Delivered(batch.size(), new Position(last.txid(), last.id()));
    }

    private URI base(Target target) {
        return config.url(target).orElseThrow(() -> new SomaException(
                ErrorCode.CONFLICT, "Export to %s is not configured (billing.export.%s.url)".formatted(target.wire(), target.wire())));
    }

    private static int batchSize(Target target) {
        return target == Target.OPENMETER ? OPENMETER_BATCH : LAGO_BATCH;
    }

    private static final String SELECT = """
            SELECT export_txid, id, tenant_id, meter, coalesce(sku, model) AS item, input_tokens, output_tokens, quantity, unit, cost,
                   created_at
            FROM usage_ledger""";

    private static Row row(java.sql.ResultSet rs, org.jdbi.v3.core.statement.StatementContext ctx) throws java.sql.SQLException {
        return new Row(rs.getLong("export_txid"), (UUID) rs.getObject("id"), (UUID) rs.getObject("tenant_id"), rs.getString("meter"), rs.getString("item"),
                        rs.getLong("input_tokens"), rs.getLong("output_tokens"), rs.getBigDecimal("quantity"), rs.getString("unit"),
                        rs.getBigDecimal("cost"), rs.getTimestamp("created_at").toInstant());
    }

    /** A batch of CloudEvents as OpenMeter ingests them: subject = the tenant (OpenMeter's customer), type = the meter. */
    private static HttpRequest openMeter(URI base, List<Row> batch) {
        List<Map<String, Object>> events = new ArrayList<>();
        for (Row row : batch) {
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("specversion", "1.0");
            event.put("id", row.id().toString());
            event.put("source", "somastack");
            event.put("type", row.meter());
            event.put("subject", row.tenant().toString());
            event.put("time", row.at().toString());
            event.put("datacontenttype", "application/json");
            event.put("data", row.properties());
            events.add(event);
        }
        return HttpRequest.newBuilder(URI.create(base + "/api/v1/events")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/cloudevents-batch+json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(events))).build();
    }

    /** A batch as Lago's events API takes it: external_subscription_id = the tenant, code = the meter (Lago's billable metric code). */
    private HttpRequest lago(URI base, List<Row> batch) {
        List<Map<String, Object>> events = new ArrayList<>();
        for (Row row : batch) {
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("transaction_id", row.id().toString());
            event.put("external_subscription_id", row.tenant().toString());
            event.put("code", row.meter());
            event.put("timestamp", row.at().getEpochSecond());
            event.put("properties", row.properties());
            events.add(event);
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + "/api/v1/events/batch")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(Map.of("events", events))));
        config.lagoApiKeyEnv().flatMap(environment).ifPresent(key -> request.header("Authorization", "Bearer " + key));
        return request.build();
    }

    /** Closes the HTTP client. */
    @Override
    public void close() {
        http.close();
    }

    private void send(Target target, HttpRequest request) {
        Duration backoff = firstBackoff;
        String last = "";
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status >= 200 && status < 300) {
                    return;
                }
                last = "HTTP %d %s".formatted(status, response.body().length() > 200 ? response.body().substring(0, 200) : response.body());
                if (status != 429 && status < 500) {
                    break;
                }
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SomaException(ErrorCode.EXPORT_FAILED, "Export to %s interrupted".formatted(target.wire()));
            }
            if (attempt < ATTEMPTS) {
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SomaException(ErrorCode.EXPORT_FAILED, "Export to %s interrupted".formatted(target.wire()));
                }
                backoff = backoff.multipliedBy(2);
            }
        }
        throw new SomaException(ErrorCode.EXPORT_FAILED, "Export to %s failed at %s: %s".formatted(target.wire(), request.uri(), last));
    }
}
