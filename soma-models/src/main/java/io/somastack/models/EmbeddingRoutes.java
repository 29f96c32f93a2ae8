package io.somastack.models;

import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Idempotency;
import io.somastack.gateway.Principal;
import io.somastack.gateway.ResponseEgress;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * {@code POST /v1/embeddings}, OpenAI-compatible, served by the local embedding model (the one
 * memory uses by default), and metered like every model call through {@link MeteredModels}
 * (ledger row, budget, token rate limit).
 * {@code encoding_format} {@code float} (default) or {@code base64} (little-endian float32,
 * what the official clients ask for).
 */
public final class EmbeddingRoutes implements EndpointGroup {
    private static final int MAX_INPUTS = 2048;
    private static final int MAX_CHARS = 8192;

    private final Guard guard;
    private final MeteredModels models;
    private final Embedder embedder;
    private final Idempotency idempotency;

    public EmbeddingRoutes(Guard guard, MeteredModels models, Embedder embedder, Idempotency idempotency) {
        this.guard = requireNonNull(guard, "guard is null");
        this.models = requireNonNull(models, "models is null");
        this.embedder = requireNonNull(embedder, "embedder is null");
        this.idempotency = requireNonNull(idempotency, "idempotency is null");
    }

    @Override
    public void addEndpoints() {
        post("/v1/embeddings", this::embed);
    }

    private void embed(Context ctx) {
        Principal principal = guard.tenant(ctx, "models:invoke");
        EmbeddingRequest request = Json.read(ctx.bodyAsBytes(), EmbeddingRequest.class);
        if (!embedder.model().equals(request.model())) {
            throw new SomaException(ErrorCode.UNKNOWN_MODEL, "Embedding model '%s' is not available; use '%s'"
                    .formatted(request.model(), embedder.model()));
        }
        if (request.dimensions() != null && request.dimensions() != embedder.dimension()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "%s makes %d dimensions; dimensions=%d is not supported"
                    .formatted(embedder.model(), embedder.dimension(), request.dimensions()));
        }
        boolean base64 = "base64".equals(request.encodingFormat());
        if (request.encodingFormat() != null && !base64 && !"float".equals(request.encodingFormat())) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "encoding_format must be float or base64");
        }
        List<String> texts = texts(request.input());
        Optional<Idempotency.Request> keyed = idempotency.of(ctx, principal.tenant().id().value());
        if (idempotency.replay(ctx, keyed)) {
            models.billedEarlier(principal.tenant().id(), keyed.get().key()).ifPresent(entry -> ResponseEgress.meter(ctx, entry.id().toString()));
            return;
        }
        // A WordPiece token covers at least one character, plus [CLS] and [SEP]: an upper bound.
        long worstTokens = texts.stream().mapToLong(text -> text.length() + 2L).sum();
        String model = embedder.model();
        var billed = models.meter(principal, new UsageMeter.WorstCase(model, List.of(new UsageMeter.Candidate("local", model)), worstTokens, 0),
                new MeteredModels.Call<Embedder.Counted>(Edge.requestId(ctx), keyed.map(Idempotency.Request::key),
                        Edge.auditEntry(ctx, principal, Map.of("model", model, "inputs", texts.size())),
                        (tx, done) -> idempotency.remember(tx, keyed, 200, answer(done.result(), base64))),
                () -> embedder.embedCounted(texts),
                counted -> new MeteredModels.Served("local", model, counted.tokens(), 0, false));
        ctx.header("X-Soma-Cost", billed.cost().toPlainString());
        ResponseEgress.meter(ctx, billed.ledgerId().toString());
        ctx.contentType("application/json").result(answer(billed.result(), base64));
    }

    private byte[] answer(Embedder.Counted counted, boolean base64) {
        List<Map<String, Object>> data = new ArrayList<>();
        for (int i = 0; i < counted.vectors().size(); i++) {
            float[] vector = counted.vectors().get(i);
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("object", "embedding");
            item.put("index", i);
            item.put("embedding", base64 ? encode(vector) : vector);
            data.add(item);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("object", "list");
        body.put("data", data);
        body.put("model", embedder.model());
        body.put("usage", Map.of("prompt_tokens", counted.tokens(), "total_tokens", counted.tokens()));
        return Json.bytes(body);
    }

    private static String encode(float[] vector) {
        ByteBuffer buffer = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(vector);
        return Base64.getEncoder().encodeToString(buffer.array());
    }

    private static List<String> texts(JsonNode input) {
        if (input == null || input.isNull()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "input is required: a string or an array of strings");
        }
        List<String> texts = new ArrayList<>();
        if (input.isString()) {
            texts.add(input.asString());
        } else if (input.isArray()) {
            for (JsonNode item : input) {
                if (!item.isString()) {
                    throw new SomaException(ErrorCode.INVALID_REQUEST, "input must hold strings; token arrays are not supported");
                }
                texts.add(item.asString());
            }
        } else {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "input must be a string or an array of strings");
        }
        if (texts.isEmpty() || texts.size() > MAX_INPUTS) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "input must hold 1 to %d texts".formatted(MAX_INPUTS));
        }
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i).isBlank() || texts.get(i).length() > MAX_CHARS) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "input[%d] must be 1 to %d characters".formatted(i, MAX_CHARS));
            }
        }
        return texts;
    }

    record EmbeddingRequest(String model, JsonNode input, @JsonProperty("encoding_format") String encodingFormat,
            Integer dimensions, String user) {
    }
}
