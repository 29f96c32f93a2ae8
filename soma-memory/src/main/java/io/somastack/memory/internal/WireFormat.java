package io.somastack.memory.internal;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Instants;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.memory.Fact;
import io.somastack.memory.NewMemory;
import io.somastack.memory.Provenance;
import io.somastack.memory.Recall;
import io.somastack.memory.RecallMode;
import io.somastack.memory.RecallQuery;
import io.somastack.memory.RecallRecord;
import io.somastack.memory.Remembered;
import io.somastack.memory.Scope;
import io.somastack.memory.SourceKind;
import io.somastack.memory.StoredMemory;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/** The JSON shapes of the memory API (snake_case), parsed strictly and rendered as ordered maps. */
public final class WireFormat {
    private static final int MAX_REASON = 500;

    private WireFormat() {
    }

    record ScopeBody(String kind, String id) {
    }

    record ProvenanceBody(String kind, String reference, String author, @JsonProperty("observed_at") String observedAt) {
    }

    record MemoryBody(String text, ScopeBody scope, List<String> tags, ProvenanceBody provenance,
            @JsonProperty("ttl_seconds") Long ttlSeconds) {
    }

    record FiltersBody(List<String> tags, String from, String to) {
    }

    record RecallBody(String query, List<ScopeBody> scopes, Integer k, FiltersBody filters, String mode) {
    }

    record ForgetBody(ScopeBody scope, String reason) {
    }

    /** A parsed forget request. */
    public record Forget(Scope scope, String reason) {
    }

    /**
     * The JSON object a client sent: an empty body, {@code null} or anything but an object is
     * refused as bad input (400), never left to fail later.
     */
    public static JsonNode document(byte[] body) {
        if (isBlank(body)) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The request body is empty; send a JSON object");
        }
        JsonNode tree = Json.tree(body);
        if (tree == null || tree.isNull() || tree.isMissingNode()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The request body is JSON null; send a JSON object");
        }
        if (!tree.isObject()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The request body must be a JSON object");
        }
        return tree;
    }

    private static boolean isBlank(byte[] body) {
        if (body != null) {
            for (byte b : body) {
                if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                    return false;
                }
            }
        }
        return true;
    }

    public static NewMemory newMemory(JsonNode node) {
        MemoryBody body = Json.convert(object(node, "A memory"), MemoryBody.class);
        if (body.text() == null) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "text is required");
        }
        if (body.provenance() == null || body.provenance().kind() == null) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "provenance.kind is required (conversation, tool, document, user or agent)");
        }
        ProvenanceBody source = body.provenance();
        Provenance provenance = new Provenance(SourceKind.parse(source.kind()), Optional.ofNullable(source.reference()),
                Optional.ofNullable(source.author()),
                Optional.ofNullable(source.observedAt()).map(text -> Instants.parse("provenance.observed_at", text)));
        return new NewMemory(body.text(), scope(body.scope()), strings(body.tags(), "tags"), provenance,
                Optional.ofNullable(body.ttlSeconds()).map(Duration::ofSeconds));
    }

    public static RecallQuery recallQuery(JsonNode node) {
        RecallBody body = Json.convert(object(node, "A recall"), RecallBody.class);
        if (body.query() == null) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "query is required");
        }
        if (body.scopes() == null) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "scopes is required: a list of {\"kind\", \"id\"}");
        }
        FiltersBody filters = body.filters() == null ? new FiltersBody(null, null, null) : body.filters();
        return new RecallQuery(body.query(), body.scopes().stream().map(WireFormat::scope).toList(), body.k() == null ? 10 : body.k(),
                strings(filters.tags(), "filters.tags"),
                Optional.ofNullable(filters.from()).map(text -> Instants.parse("filters.from", text)),
                Optional.ofNullable(filters.to()).map(text -> Instants.parse("filters.to", text)),
                body.mode() == null ? RecallMode.HYBRID : RecallMode.parse(body.mode()));
    }

    public static Forget forget(JsonNode node) {
        ForgetBody body = Json.convert(object(node, "A forget request"), ForgetBody.class);
        return new Forget(scope(body.scope()), reason(body.reason()));
    }

    /** A deletion's reason (a body field or the {@code reason} query parameter); blank is {@code unspecified}. */
    public static String reason(String reason) {
        if (reason == null || reason.isBlank()) {
            return "unspecified";
        }
        if (reason.length() > MAX_REASON) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "reason must be at most %d characters".formatted(MAX_REASON));
        }
        return Texts.requireStorable("reason", reason);
    }

    private static JsonNode object(JsonNode node, String what) {
        if (node == null || !node.isObject()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "%s must be a JSON object (got %s)".formatted(what,
                    node == null ? "nothing" : node.getNodeType().name().toLowerCase(Locale.ROOT)));
        }
        return node;
    }

    /** A list of strings, empty when absent; a null element is refused naming its position. */
    private static List<String> strings(List<String> values, String field) {
        if (values == null) {
            return List.of();
        }
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i) == null) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "%s[%d] must be a string, not null".formatted(field, i));
            }
        }
        return values;
    }

    private static Scope scope(ScopeBody body) {
        if (body == null) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "scope is required: {\"kind\": \"tenant|agent|user|conversation\", \"id\": ...}");
        }
        return Scope.of(body.kind(), body.id());
    }

    public static Map<String, Object> scope(Scope scope) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("kind", scope.kind().wireName());
        view.put("id", scope.id());
        return view;
    }

    public static Map<String, Object> remembered(Remembered remembered) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("index", remembered.index());
        view.put("memory_id", remembered.memoryId().toString());
        view.put("revision_id", remembered.revisionId().toString());
        view.put("outcome", remembered.outcome().name().toLowerCase(Locale.ROOT));
        return view;
    }

    public static Map<String, Object> recall(Recall recall) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("recall_id", recall.id().toString());
        view.put("facts", recall.facts().stream().map(WireFormat::fact).toList());
        return view;
    }

    private static Map<String, Object> fact(Fact fact) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("memory_id", fact.memoryId().toString());
        view.put("revision_id", fact.revisionId().toString());
        view.put("score", fact.score());
        view.put("text", fact.text());
        view.put("scope", scope(fact.scope()));
        view.put("tags", fact.tags());
        view.put("provenance", provenance(fact.provenance()));
        view.put("remembered_at", fact.rememberedAt().toString());
        return view;
    }

    private static Map<String, Object> provenance(Provenance provenance) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("kind", provenance.kind().wireName());
        view.put("reference", provenance.reference().orElse(null));
        view.put("author", provenance.author().orElse(null));
        view.put("observed_at", provenance.observedAt().map(Instant::toString).orElse(null));
        return view;
    }

    public static Map<String, Object> recallRecord(RecallRecord record) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", record.id().toString());
        view.put("key_id", record.keyId().toString());
        view.put("actor", record.actor());
        view.put("request_id", record.requestId());
        view.put("at", record.at().toString());
        view.put("query_sha256", record.querySha256());
        view.put("mode", record.mode().wireName());
        view.put("k", record.k());
        view.put("scopes", record.scopes().stream().map(WireFormat::scope).toList());
        view.put("results", record.results().stream().map(hit -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("memory_id", hit.memoryId().toString());
            row.put("revision_id", hit.revisionId().toString());
            row.put("score", hit.score());
            return row;
        }).toList());
        return view;
    }

    public static Map<String, Object> storedMemory(StoredMemory memory) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", memory.id().toString());
        view.put("scope", scope(memory.scope()));
        view.put("tags", memory.tags());
        view.put("expires_at", memory.expiresAt().map(Instant::toString).orElse(null));
        view.put("created_at", memory.createdAt().toString());
        view.put("updated_at", memory.updatedAt().toString());
        view.put("current_revision_id", memory.currentRevisionId().map(Object::toString).orElse(null));
        view.put("deleted_at", memory.deletedAt().map(Instant::toString).orElse(null));
        view.put("revisions", memory.revisions().stream().map(revision -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", revision.id().toString());
            row.put("number", revision.number());
            row.put("text", revision.text().orElse(null));
            row.put("content_sha256", revision.contentSha256().orElse(null));
            row.put("embedding_model", revision.embeddingModel());
            row.put("embedding_dimension", revision.embeddingDimension());
            row.put("provenance", provenance(revision.provenance()));
            row.put("tags", revision.tags());
            row.put("created_at", revision.createdAt().toString());
            row.put("created_by", revision.createdBy());
            row.put("erased_at", revision.erasedAt().map(Instant::toString).orElse(null));
            return row;
        }).toList());
        return view;
    }
}
