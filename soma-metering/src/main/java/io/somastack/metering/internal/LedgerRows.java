package io.somastack.metering.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.metering.UsageRecord;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jdbi.v3.core.Handle;

/**
 * Rows of the usage ledger written many per statement: one {@code INSERT ... SELECT FROM
 * unnest(...)} of column arrays, whatever the number of rows, so a group commit of n calls makes
 * one round trip and fires the ledger's statement triggers once (V3_23) instead of n times. A
 * group holds model calls ({@link Row#call}) and the egress rows of their buffered answers
 * ({@link Row#metered}), so a non-streamed chat call and its answer's bytes are one statement.
 * As the {@link Tx.Deferred} work of a group ({@link #of}), it collects the rows of every unit and
 * writes them before the group commits; a row whose idempotency key its tenant has already used
 * fails the group, which {@code GroupCommit} then retries in smaller groups down to the unit
 * alone, where {@code Ledger.record} writes and checks a keyed row at once. Not thread-safe (one
 * per transaction).
 */
public final class LedgerRows implements Tx.Deferred {
    private static final String INSERT = """
            INSERT INTO usage_ledger (id, tenant_id, key_id, request_id, idempotency_key, model, provider, upstream_model,
                input_tokens, output_tokens, estimated, input_per_million, output_per_million, cost, period, created_at, reservation_id,
                capsule, meter, quantity, unit, sku)
            SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
                ?::bigint[], ?::bigint[], ?::boolean[], ?::numeric[], ?::numeric[], ?::numeric[], ?::date[], ?::timestamptz[], ?::uuid[],
                ?::text[], ?::text[], ?::numeric[], ?::text[], ?::text[])
            ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id""";

    /** The columns in the statement's order, each as the text PostgreSQL parses into the column's type (NUMERIC exactly). */
    private static final List<Function<Row, String>> COLUMNS = List.of(
            row -> row.id().toString(),
            row -> row.tenantId().toString(),
            row -> row.keyId().toString(),
            Row::requestId,
            Row::idempotencyKey,
            Row::model,
            Row::provider,
            Row::upstreamModel,
            row -> Long.toString(row.inputTokens()),
            row -> Long.toString(row.outputTokens()),
            row -> Boolean.toString(row.estimated()),
            row -> row.inputPerMillion().toPlainString(),
            row -> row.outputPerMillion().toPlainString(),
            row -> row.cost().toPlainString(),
            row -> row.period().toString(),
            row -> row.at().toString(),
            row -> row.reservationId() == null ? null : row.reservationId().toString(),
            Row::capsule,
            Row::meter,
            row -> row.quantity() == null ? null : row.quantity().toPlainString(),
            Row::unit,
            Row::sku);

    private final List<Row> rows = new ArrayList<>();
    private final Set<UUID> ids = new HashSet<>();
    private final Map<String, Object> looked = new HashMap<>();

    /** This group's rows: every writer of the transaction adds to the same statement. */
    public static LedgerRows of(Tx tx) {
        return tx.deferred(LedgerRows.class, LedgerRows::new);
    }

    /** Adds a row to this group's statement. */
    public void add(Row row) {
        rows.add(requireNonNull(row, "row is null"));
        ids.add(row.id());
    }

    /** Whether this group's statement holds the row {@code id} (a ledger id as text), i.e. the row is new in this transaction. */
    public boolean holds(String id) {
        try {
            return ids.contains(UUID.fromString(id));
        } catch (IllegalArgumentException notAnId) {
            return false; // e.g. run:<id>: never a row of this statement
        }
    }

    /**
     * {@code lookup}'s answer for {@code key}, asked once per group (e.g. the price of a SKU in a period: every egress row of
     * the group reads the same version, in the same transaction, so reading it once changes nothing but the round trips).
     */
    @SuppressWarnings("unchecked")
    public <T> T once(String key, Supplier<T> lookup) {
        return (T) looked.computeIfAbsent(key, ignored -> lookup.get());
    }

    @Override
    public void run(Handle handle) {
        if (rows.isEmpty()) {
            return;
        }
        Set<UUID> written = insert(handle.getConnection(), rows);
        if (written.size() != rows.size()) {
            throw new IllegalStateException(("%d of the group's %d ledger rows repeat an idempotency key their tenant has used; "
                    + "retried in smaller groups").formatted(rows.size() - written.size(), rows.size()));
        }
    }

    /** Writes {@code rows} in one statement; returns the ids of those written (not those whose tenant has their idempotency key). */
    public static Set<UUID> insert(Connection connection, List<Row> rows) {
        try (PreparedStatement insert = connection.prepareStatement(INSERT)) {
            for (int column = 0; column < COLUMNS.size(); column++) {
                Function<Row, String> value = COLUMNS.get(column);
                insert.setArray(column + 1, connection.createArrayOf("text", rows.stream().map(value).toArray(String[]::new)));
            }
            Set<UUID> written = new HashSet<>();
            try (ResultSet returned = insert.executeQuery()) {
                while (returned.next()) {
                    written.add((UUID) returned.getObject(1));
                }
            }
            return written;
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot write the usage ledger: " + e.getMessage(), e);
        }
    }

    /**
     * One ledger row booked at {@code at} in {@code period}. Nullable: {@code idempotencyKey}, {@code reservationId} (the hold
     * it settles), {@code capsule}, and {@code quantity}, {@code unit}, {@code sku} (none for model tokens).
     */
    public record Row(UUID id, UUID tenantId, UUID keyId, String requestId, String idempotencyKey, String model, String provider,
            String upstreamModel, long inputTokens, long outputTokens, boolean estimated, BigDecimal inputPerMillion,
            BigDecimal outputPerMillion, BigDecimal cost, LocalDate period, Instant at, UUID reservationId, String capsule, String meter,
            BigDecimal quantity, String unit, String sku) {
        public Row {
            requireNonNull(id, "id is null");
            requireNonNull(tenantId, "tenantId is null");
            requireNonNull(keyId, "keyId is null");
            requireNonNull(requestId, "requestId is null");
            requireNonNull(model, "model is null");
            requireNonNull(provider, "provider is null");
            requireNonNull(upstreamModel, "upstreamModel is null");
            requireNonNull(cost, "cost is null");
            requireNonNull(period, "period is null");
            requireNonNull(at, "at is null");
            requireNonNull(meter, "meter is null");
        }

        /** A model call's row: {@code usage}, settling {@code reservationId} (may be null). */
        public static Row call(UUID id, UsageRecord usage, UUID reservationId, Instant at, LocalDate period) {
            return new Row(id, usage.tenantId().value(), usage.keyId(), usage.requestId(), usage.idempotencyKey().orElse(null),
                    usage.model(), usage.provider(), usage.upstreamModel(), usage.inputTokens(), usage.outputTokens(), usage.estimated(),
                    usage.price().inputPerMillion().amount(), usage.price().outputPerMillion().amount(), usage.cost().amount(), period, at,
                    reservationId, usage.capsule().orElse(null), "model.tokens", null, null, null);
        }

        /** A row of {@code quantity} {@code unit} of {@code sku} (meter {@code meter}), written by soma-metering itself, no tokens. */
        public static Row metered(UUID id, UUID tenantId, UUID keyId, String requestId, String idempotencyKey, String sku, String meter,
                BigDecimal quantity, String unit, BigDecimal cost, String capsule, Instant at, LocalDate period) {
            return new Row(id, tenantId, keyId, requestId, idempotencyKey, sku, "soma-metering", sku, 0, 0, false, BigDecimal.ZERO,
                    BigDecimal.ZERO, cost, period, at, null, capsule, meter, requireNonNull(quantity, "quantity is null"),
                    requireNonNull(unit, "unit is null"), sku);
        }
    }
}
