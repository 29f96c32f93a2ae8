package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import io.somastack.memory.RecallMode;
import io.somastack.memory.RecallRecord;
import io.somastack.memory.Scope;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.databind.JsonNode;

/** The recall audit table: one row per recall with the exact revisions and scores returned. Thread-safe. */
public final class RecallLog {
    private final Jdbi jdbi;

    public RecallLog(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    public void insert(Handle handle, TenantId tenant, RecallRecord record, Map<String, Object> filters) {
        handle.createUpdate("""
                INSERT INTO recalls (id, tenant_id, key_id, actor, request_id, at, query_sha256, mode, k, scopes, filters, results)
                VALUES (:id, :tenant, :key, :actor, :request, :at, :query, :mode, :k, CAST(:scopes AS jsonb), CAST(:filters AS jsonb),
                        CAST(:results AS jsonb))""")
                .bind("id", record.id()).bind("tenant", tenant.value()).bind("key", record.keyId()).bind("actor", record.actor())
                .bind("request", record.requestId()).bind("at", Timestamp.from(record.at())).bind("query", record.querySha256())
                .bind("mode", record.mode().wireName()).bind("k", record.k())
                .bind("scopes", Json.text(record.scopes().stream().map(Scope::key).toList())).bind("filters", Json.text(filters))
                .bind("results", results(record.results())).execute();
    }

    /** Replaces the revisions and scores of a recall written before its facts were read (see {@code Recalling}). */
    public void replaceResults(Handle handle, TenantId tenant, UUID recallId, List<RecallRecord.Hit> hits) {
        handle.createUpdate("UPDATE recalls SET results = CAST(:results AS jsonb) WHERE tenant_id = :tenant AND id = :id")
                .bind("results", results(hits)).bind("tenant", tenant.value()).bind("id", recallId).execute();
    }

    private static String results(List<RecallRecord.Hit> hits) {
        List<Map<String, Object>> results = new ArrayList<>();
        for (RecallRecord.Hit hit : hits) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("memory_id", hit.memoryId().toString());
            row.put("revision_id", hit.revisionId().toString());
            row.put("score", hit.score());
            results.add(row);
        }
        return Json.text(results);
    }

    public Optional<RecallRecord> find(TenantId tenant, UUID id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM recalls WHERE tenant_id = :tenant AND id = :id")
                .bind("tenant", tenant.value()).bind("id", id)
                .map((rs, ctx) -> {
                    List<Scope> scopes = new ArrayList<>();
                    for (JsonNode key : Json.mapper().readTree(rs.getString("scopes"))) {
                        String text = key.asString();
                        int colon = text.indexOf(':');
                        scopes.add(Scope.of(text.substring(0, colon), text.substring(colon + 1)));
                    }
                    List<RecallRecord.Hit> hits = new ArrayList<>();
                    for (JsonNode hit : Json.mapper().readTree(rs.getString("results"))) {
                        hits.add(new RecallRecord.Hit(UUID.fromString(hit.get("memory_id").asString()),
                                UUID.fromString(hit.get("revision_id").asString()), hit.get("score").asDouble()));
                    }
                    return new RecallRecord(rs.getObject("id", UUID.class), rs.getObject("key_id", UUID.class), rs.getString("actor"),
                            rs.getString("request_id"), rs.getTimestamp("at").toInstant(), rs.getString("query_sha256"),
                            RecallMode.parse(rs.getString("mode")), rs.getInt("k"), scopes, hits);
                }).findOne());
    }
}
