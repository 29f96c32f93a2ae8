package io.somastack.metering.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.metering.UsageRecord;
import io.somastack.store.Tx;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;

/**
 * Model-call rows of the usage ledger, written many per statement: one {@code INSERT ... SELECT
 * FROM unnest(...)} of column arrays, whatever the number of rows, so a group commit of n calls
 * makes one round trip and fires the ledger's statement triggers once (V3_23) instead of n times.
 * As the {@link Tx.Deferred} work of a group, it collects the rows of every unit and writes them
 * before the group commits; a row whose idempotency key its tenant has already used fails the
 * group, which {@code GroupCommit} then retries in smaller groups down to the unit alone, where
 * {@code Ledger.record} writes and checks its row at once. Not thread-safe (one per transaction).
 */
public final class LedgerRows implements Tx.Deferred {
    private static final String INSERT = """
            INSERT INTO usage_ledger (id, tenant_id, key_id, request_id, idempotency_key, model, provider, upstream_model,
                input_tokens, output_tokens, estimated, input_per_million, output_per_million, cost, period, created_at, reservation_id,
                capsule)
            SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
                ?::bigint[], ?::bigint[], ?::boolean[], ?::numeric[], ?::numeric[], ?::numeric[], ?::date[], ?::timestamptz[], ?::uuid[],
                ?::text[])
            ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id""";

    /** The columns in the statement's order, each as the text PostgreSQL parses into the column's type (NUMERIC exactly). */
    private static final List<Function<Row, String>> COLUMNS = List.of(
            row -> row.id().toString(),
            row -> row.usage().tenantId().value().toString(),
            row -> row.usage().keyId().toString(),
            row -> row.usage().requestId(),
            row -> row.usage().idempotencyKey().orElse(null),
            row -> row.usage().model(),
            row -> row.usage().provider(),
            row -> row.usage().upstreamModel(),
            row -> Long.toString(row.usage().inputTokens()),
            row -> Long.toString(row.usage().outputTokens()),
            row -> Boolean.toString(row.usage().estimated()),
            row -> row.usage().price().inputPerMillion().amount().toPlainString(),
            row -> row.usage().price().outputPerMillion().amount().toPlainString(),
            row -> row.usage().cost().amount().toPlainString(),
            row -> row.period().toString(),
            row -> row.at().toString(),
            row -> row.reservationId() == null ? null : row.reservationId().toString(),
            row -> row.usage().capsule().orElse(null));

    private final List<Row> rows = new ArrayList<>();

    /** Adds a row to this group's statement. */
    public void add(Row row) {
        rows.add(requireNonNull(row, "row is null"));
    }

    @Override
    public void run(Handle handle) {
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

    /** One model call's row: {@code usage} booked at {@code at} in {@code period}, settling {@code reservationId} (may be null). */
    public record Row(UUID id, UsageRecord usage, UUID reservationId, Instant at, LocalDate period) {
        public Row {
            requireNonNull(id, "id is null");
            requireNonNull(usage, "usage is null");
            requireNonNull(at, "at is null");
            requireNonNull(period, "period is null");
        }
    }
}
