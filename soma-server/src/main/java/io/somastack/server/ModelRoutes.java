package io.somastack.server;

import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.models.ChatChunk;
import io.somastack.models.ChatRequest;
import io.somastack.models.ModelList;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/**
 * The OpenAI-compatible model API: {@code POST /v1/chat/completions} (JSON or SSE) and
 * {@code GET /v1/models}. A non-streaming call with an {@code Idempotency-Key} is answered
 * once; a retry gets the first response (same key, other body: 409).
 */
public final class ModelRoutes implements EndpointGroup {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    private final Guard guard;
    private final ModelGateway models;
    private final Jdbi jdbi;

    public ModelRoutes(Guard guard, ModelGateway models, Jdbi jdbi) {
        this.guard = requireNonNull(guard, "guard is null");
        this.models = requireNonNull(models, "models is null");
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    @Override
    public void addEndpoints() {
        post("/v1/chat/completions", this::chat);
        get("/v1/models", this::list);
    }

    private void list(Context ctx) {
        guard.tenant(ctx, "models:invoke");
        ctx.json(ModelList.of(models.router().models()));
    }

    private void chat(Context ctx) {
        Principal principal = guard.tenant(ctx, "models:invoke");
        byte[] body = ctx.bodyAsBytes();
        ChatRequest request = ChatRequest.parse(body);
        Optional<String> idempotencyKey = Optional.ofNullable(ctx.header("Idempotency-Key")).map(String::trim).filter(key -> !key.isEmpty());
        if (idempotencyKey.isPresent() && idempotencyKey.get().length() > 255) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "Idempotency-Key must be at most 255 characters");
        }
        String requestHash = sha256(body);
        if (idempotencyKey.isPresent() && replay(ctx, principal, idempotencyKey.get(), requestHash)) {
            return;
        }
        var audit = Edge.auditEntry(ctx, principal, Map.of("model", request.model(), "stream", request.streaming()));
        if (request.streaming()) {
            stream(ctx, principal, request, new ModelGateway.Call(Edge.requestId(ctx), idempotencyKey, audit, (tx, billed) -> { }));
            return;
        }
        ModelGateway.Billed billed = models.complete(principal, request, new ModelGateway.Call(Edge.requestId(ctx), idempotencyKey, audit,
                (tx, done) -> idempotencyKey.ifPresent(key -> tx.handle().createUpdate("""
                        INSERT INTO idempotency (tenant_id, key, request_hash, status, body, created_at)
                        VALUES (:tenant, :key, :hash, 200, :body, :now) ON CONFLICT DO NOTHING""")
                        .bind("tenant", principal.tenant().id().value()).bind("key", key).bind("hash", requestHash)
                        .bind("body", Json.bytes(done.result().completion())).bind("now", Timestamp.from(Instant.now())).execute())));
        ctx.header("X-Soma-Ledger-Id", billed.entry().id().toString());
        ctx.header("X-Soma-Cost", billed.entry().cost().toPlainString());
        ctx.contentType("application/json").result(Json.bytes(billed.result().completion()));
    }

    private boolean replay(Context ctx, Principal principal, String key, String requestHash) {
        var stored = jdbi.withHandle(handle -> handle.createQuery(
                "SELECT request_hash, status, body FROM idempotency WHERE tenant_id = :tenant AND key = :key")
                .bind("tenant", principal.tenant().id().value()).bind("key", key)
                .map((rs, context) -> new Stored(rs.getString("request_hash"), rs.getInt("status"), rs.getBytes("body"))).findOne());
        if (stored.isEmpty()) {
            return false;
        }
        if (!stored.get().requestHash().equals(requestHash)) {
            throw new SomaException(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "Idempotency-Key '%s' was already used with a different request body".formatted(key));
        }
        ctx.header("Idempotent-Replayed", "true");
        ctx.status(stored.get().status()).contentType("application/json").result(stored.get().body());
        return true;
    }

    private void stream(Context ctx, Principal principal, ChatRequest request, ModelGateway.Call call) {
        var response = ctx.res();
        boolean includeUsage = request.includeUsage();
        OutputStream[] out = new OutputStream[1];
        boolean[] gone = new boolean[1];
        models.stream(principal, request, call, (ChatChunk chunk) -> {
            if (gone[0]) {
                return false;
            }
            boolean usageOnly = chunk.usage() != null && chunk.choices().isEmpty();
            if (usageOnly && !includeUsage) {
                return true;
            }
            try {
                if (out[0] == null) {
                    response.setStatus(200);
                    response.setContentType("text/event-stream");
                    response.setHeader("Cache-Control", "no-cache");
                    response.setHeader("X-Accel-Buffering", "no");
                    out[0] = response.getOutputStream();
                }
                out[0].write(("data: " + Json.text(chunk) + "\n\n").getBytes(StandardCharsets.UTF_8));
                out[0].flush();
                return true;
            } catch (IOException | RuntimeException e) {
                gone[0] = true;
                return false;
            }
        });
        // The ledger entry is durable now; only then does the client see the end of the stream.
        if (out[0] != null && !gone[0]) {
            try {
                out[0].write(DONE);
                out[0].flush();
            } catch (IOException ignored) {
                // the client left after the last chunk; it was billed for what it got
            }
        } else if (out[0] == null) {
            ctx.contentType("text/event-stream").result(DONE);
        }
    }

    private static String sha256(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private record Stored(String requestHash, int status, byte[] body) {
    }
}
