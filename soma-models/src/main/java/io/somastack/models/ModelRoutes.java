package io.somastack.models;

import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Idempotency;
import io.somastack.gateway.Principal;
import io.somastack.gateway.ResponseEgress;
import io.somastack.kernel.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

/**
 * The OpenAI-compatible model API: {@code POST /v1/chat/completions} (JSON or SSE) and
 * {@code GET /v1/models}. A non-streaming call with an {@code Idempotency-Key} is answered
 * once; a retry gets the first response (same key, other body: 409). Every call goes through
 * {@link MeteredModels}; the answer carries its ledger entry ({@code X-Soma-Ledger-Id}) and cost
 * ({@code X-Soma-Cost}).
 */
public final class ModelRoutes implements EndpointGroup {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    private final Guard guard;
    private final MeteredModels models;
    private final Idempotency idempotency;

    public ModelRoutes(Guard guard, MeteredModels models, Idempotency idempotency) {
        this.guard = requireNonNull(guard, "guard is null");
        this.models = requireNonNull(models, "models is null");
        this.idempotency = requireNonNull(idempotency, "idempotency is null");
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
        ChatRequest request = ChatRequest.parse(ctx.bodyAsBytes());
        Optional<Idempotency.Request> keyed = idempotency.of(ctx, principal.tenant().id().value());
        if (idempotency.replay(ctx, keyed)) {
            models.billedEarlier(principal.tenant().id(), keyed.get().key()).ifPresent(entry -> {
                ctx.header("X-Soma-Ledger-Id", entry.id().toString());
                ctx.header("X-Soma-Cost", entry.cost().toPlainString());
                ResponseEgress.meter(ctx, entry.id().toString());
            });
            return;
        }
        Optional<String> idempotencyKey = keyed.map(Idempotency.Request::key);
        var audit = Edge.auditEntry(ctx, principal, Map.of("model", request.model(), "stream", request.streaming()));
        if (request.streaming()) {
            stream(ctx, principal, request, new MeteredModels.Call<>(Edge.requestId(ctx), idempotencyKey, audit, (tx, billed) -> { }));
            return;
        }
        // A buffered answer is serialized before its call commits, so its egress row (exactly these bytes, sent uncompressed)
        // joins the call's ledger row in one durable unit and one ledger statement: the call waits for one commit, not two.
        byte[][] body = new byte[1][];
        MeteredModels.Billed<ChatResult> billed = models.complete(principal, request, new MeteredModels.Call<>(Edge.requestId(ctx), idempotencyKey, audit,
                (tx, done) -> {
                    body[0] = Json.bytes(done.result().completion());
                    idempotency.remember(tx, keyed, 200, body[0]);
                    ResponseEgress.meterWithCall(ctx, tx, done.entry().id().toString(), body[0]);
                }));
        ctx.header("X-Soma-Ledger-Id", billed.entry().id().toString());
        ctx.header("X-Soma-Cost", billed.entry().cost().toPlainString());
        ctx.disableCompression();
        ctx.contentType("application/json").result(body[0]);
    }

    private void stream(Context ctx, Principal principal, ChatRequest request, MeteredModels.Call<ChatResult> call) {
        var response = ctx.res();
        boolean includeUsage = request.includeUsage();
        OutputStream[] out = new OutputStream[1];
        boolean[] gone = new boolean[1];
        MeteredModels.Billed<ChatResult> billed = models.stream(principal, request, call, (ChatChunk chunk) -> {
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
        // The ledger entry is durable now; only then does the client see the end of the stream (and the stream's egress
        // is recorded, linked to that entry, before the response ends).
        ResponseEgress.meter(ctx, billed.entry().id().toString());
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
}
