package io.somastack.memory;

import static io.javalin.apibuilder.ApiBuilder.delete;
import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.SomaException;
import io.somastack.memory.internal.BatchProblems;
import io.somastack.memory.internal.Remembering;
import io.somastack.memory.internal.Texts;
import io.somastack.memory.internal.Vectors;
import io.somastack.memory.internal.WireFormat;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;

/**
 * The memory API: {@code POST /v1/memories} (one memory, or {@code {"memories": [...]}} up
 * to the batch limit; {@code Idempotency-Key} honoured), {@code POST /v1/memories/recall},
 * {@code GET /v1/recalls/{id}}, {@code GET} and {@code DELETE /v1/memories/{id}}, and
 * {@code POST /v1/memories/forget}. A recall's answer carries a {@code Server-Timing} header
 * (embed, search, fetch, record). Writes need scope {@code memory:write}, reads
 * {@code memory:read}; which memory scopes a key may use is decided by {@link Caller}. Bad
 * input (an empty or {@code null} body, wrong types, NUL or lone surrogates, text an embedder
 * cannot read, instants outside the years 0001 to 9999) is a 400 naming the field, and nothing
 * is stored.
 */
public final class MemoryRoutes implements EndpointGroup {
    private final Guard guard;
    private final Memories memories;
    private final MemoryConfig config;

    public MemoryRoutes(Guard guard, Memories memories, MemoryConfig config) {
        this.guard = requireNonNull(guard, "guard is null");
        this.memories = requireNonNull(memories, "memories is null");
        this.config = requireNonNull(config, "config is null");
    }

    @Override
    public void addEndpoints() {
        post("/v1/memories", this::remember);
        post("/v1/memories/recall", this::recall);
        post("/v1/memories/forget", this::forget);
        get("/v1/memories/{id}", this::memory);
        delete("/v1/memories/{id}", this::deleteMemory);
        get("/v1/recalls/{id}", this::recallRecord);
    }

    private void remember(Context ctx) {
        Caller caller = caller(ctx, "memory:write");
        byte[] body = ctx.bodyAsBytes();
        JsonNode tree = WireFormat.document(body);
        boolean batch = tree.has("memories");
        List<JsonNode> entries = new ArrayList<>();
        if (batch) {
            if (tree.size() != 1 || !tree.get("memories").isArray()) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "A batch is {\"memories\": [...]} and nothing else");
            }
            tree.get("memories").forEach(entries::add);
        } else {
            entries.add(tree);
        }
        if (entries.isEmpty() || entries.size() > config.maxBatch()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A remember takes 1 to %d memories (got %d)"
                    .formatted(config.maxBatch(), entries.size()));
        }
        // Every entry is parsed and checked, so that one answer names every bad entry.
        BatchProblems problems = new BatchProblems();
        SortedMap<Integer, NewMemory> parsed = new TreeMap<>();
        for (int index = 0; index < entries.size(); index++) {
            try {
                parsed.put(index, WireFormat.newMemory(entries.get(index)));
            } catch (SomaException e) {
                problems.add(index, e.detail());
            }
        }
        problems.check(parsed, caller, config);
        problems.throwIfAny();
        Optional<Memories.IdempotencyKey> key = idempotencyKey(ctx, body);
        Memories.RememberResult result = memories.remember(caller, List.copyOf(parsed.values()), key);
        if (result.replayed()) {
            ctx.header("Idempotent-Replayed", "true");
        }
        ctx.status(Remembering.status(result.results()));
        ctx.json(batch ? Map.of("data", result.results().stream().map(WireFormat::remembered).toList())
                : WireFormat.remembered(result.results().getFirst()));
    }

    private void recall(Context ctx) {
        Caller caller = caller(ctx, "memory:read");
        Recall recall = memories.recall(caller, WireFormat.recallQuery(WireFormat.document(ctx.bodyAsBytes())));
        ctx.header("Server-Timing", recall.timings().serverTiming());
        ctx.json(WireFormat.recall(recall));
    }

    private void recallRecord(Context ctx) {
        Caller caller = caller(ctx, guard.tenant(ctx, "memory:read"));
        ctx.json(WireFormat.recallRecord(memories.recallRecord(caller, Ids.parseUuid(ctx.pathParam("id"), "recall id"))));
    }

    private void memory(Context ctx) {
        Caller caller = caller(ctx, guard.tenant(ctx, "memory:read"));
        ctx.json(WireFormat.storedMemory(memories.memory(caller, Ids.parseUuid(ctx.pathParam("id"), "memory id"))));
    }

    private void deleteMemory(Context ctx) {
        Caller caller = caller(ctx, "memory:write");
        String reason = WireFormat.reason(ctx.queryParam("reason"));
        ctx.json(WireFormat.storedMemory(memories.delete(caller, Ids.parseUuid(ctx.pathParam("id"), "memory id"), reason)));
    }

    private void forget(Context ctx) {
        Caller caller = caller(ctx, "memory:write");
        WireFormat.Forget request = WireFormat.forget(WireFormat.document(ctx.bodyAsBytes()));
        int forgotten = memories.forget(caller, request.scope(), request.reason());
        ctx.json(Map.of("scope", WireFormat.scope(request.scope()), "forgotten", forgotten));
    }

    /** Authorizes, and marks the request audited: memory writes its own audit entries. */
    private Caller caller(Context ctx, String scope) {
        Caller caller = caller(ctx, guard.tenant(ctx, scope));
        Edge.markAudited(ctx);
        return caller;
    }

    private static Caller caller(Context ctx, Principal principal) {
        return new Caller(principal.tenant().id(), principal.keyId(), principal.actor(), principal.agentRestriction(), Edge.requestId(ctx));
    }

    private static Optional<Memories.IdempotencyKey> idempotencyKey(Context ctx, byte[] body) {
        Optional<String> key = Optional.ofNullable(ctx.header("Idempotency-Key")).map(String::trim).filter(value -> !value.isEmpty());
        if (key.isPresent() && key.get().length() > 255) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "Idempotency-Key must be at most 255 characters");
        }
        key.ifPresent(value -> Texts.requireStorable("Idempotency-Key", value));
        return key.map(value -> new Memories.IdempotencyKey(value, Vectors.sha256(new String(body, StandardCharsets.UTF_8))));
    }
}
