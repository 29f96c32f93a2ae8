package io.somastack.tools;

import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.gateway.ResponseEgress;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * {@code POST /v1/tools/{capsule}/{tool}/invoke} with {@code {"arguments": {...}}}: runs one
 * tool of the caller's installed capsule through the {@link ToolBroker} (scope
 * {@code tools:invoke}). It answers JSON, or with {@code Accept: text/event-stream} the call's
 * events as server-sent events ({@code event: tool.started|tool.delta|tool.completed|tool.failed},
 * {@code id:} the event's sequence in the call, {@code data:} its JSON). A call refused before
 * it runs is a problem in either mode: 400 {@code tool-arguments-invalid} (every error with its
 * pointer), 403 {@code policy-denied} (with the decision id) or {@code egress-refused}; a tool
 * that ran and failed is 502 {@code tool-failed} with its {@code reason} in JSON mode, and a
 * {@code tool.failed} event in SSE mode.
 */
public final class ToolRoutes implements EndpointGroup {
    public static final String SCOPE = "tools:invoke";

    private final Guard guard;
    private final ToolBroker broker;
    private final ToolSettingsRoutes settings;

    public ToolRoutes(Guard guard, ToolBroker broker, ToolSettingsRoutes settings) {
        this.guard = requireNonNull(guard, "guard is null");
        this.broker = requireNonNull(broker, "broker is null");
        this.settings = requireNonNull(settings, "settings is null");
    }

    @Override
    public void addEndpoints() {
        post("/v1/tools/{capsule}/{tool}/invoke", this::invoke);
        settings.addEndpoints();
    }

    private void invoke(Context ctx) {
        Principal principal = guard.tenant(ctx, SCOPE);
        Edge.markAudited(ctx);
        JsonNode body = ctx.bodyAsBytes().length == 0 ? Json.mapper().createObjectNode() : Json.tree(ctx.bodyAsBytes());
        if (!body.isObject() || (body.has("arguments") && !body.get("arguments").isObject()) || body.size() > (body.has("arguments") ? 1 : 0)) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The body is {\"arguments\": {...}} and nothing else");
        }
        JsonNode arguments = body.has("arguments") ? body.get("arguments") : Json.mapper().createObjectNode();
        ToolCaller caller = ToolCaller.of(principal, Edge.requestId(ctx));
        String accept = ctx.header("Accept");
        boolean streaming = accept != null && accept.contains("text/event-stream");
        if (!streaming) {
            ToolResult result = broker.call(caller, ctx.pathParam("capsule"), ctx.pathParam("tool"), arguments, ToolSink.NONE);
            meterEgress(ctx, result);
            ctx.json(wire(result));
            return;
        }
        EventStream stream = new EventStream(ctx);
        ToolResult result = broker.call(caller, ctx.pathParam("capsule"), ctx.pathParam("tool"), arguments, stream);
        meterEgress(ctx, result);
        if (!stream.started()) {
            ctx.json(wire(result));
        }
    }

    /** The answer's bytes are egress of the call's ledger row (a failed call's problem is a 4xx/5xx, which is not metered). */
    private static void meterEgress(Context ctx, ToolResult result) {
        switch (result) {
            case ToolResult.Completed completed -> ResponseEgress.meter(ctx, completed.ledgerId().toString());
            case ToolResult.Failed failed -> failed.ledgerId().ifPresent(id -> ResponseEgress.meter(ctx, id.toString()));
        }
    }

    /** The JSON answer of a completed call; a failed one throws its problem. */
    static Map<String, Object> wire(ToolResult result) {
        return switch (result) {
            case ToolResult.Completed completed -> {
                Map<String, Object> json = call(completed);
                json.put("status", "completed");
                json.put("result", completed.result());
                json.put("result_sha256", completed.resultSha256());
                json.put("log", completed.log());
                json.put("duration_ms", completed.duration().toMillis());
                json.put("decision_id", completed.decisionId().toString());
                json.put("ledger_id", completed.ledgerId().toString());
                json.put("cost", completed.cost().toPlainString());
                yield json;
            }
            case ToolResult.Failed failed -> throw problem(failed);
        };
    }

    /** The problem of a failed call. */
    public static SomaException problem(ToolResult.Failed failed) {
        Map<String, Object> extensions = new LinkedHashMap<>();
        extensions.put("call_id", failed.callId().toString());
        extensions.put("reason", failed.reason().wire());
        failed.decisionId().ifPresent(id -> extensions.put("decision_id", id.toString()));
        return switch (failed.reason()) {
            case INVALID_ARGUMENTS -> {
                extensions.put("errors", ToolBroker.errors(failed));
                yield new SomaException(ErrorCode.TOOL_ARGUMENTS_INVALID, failed.message(), extensions);
            }
            case DENIED -> new SomaException(failed.decisionId().isPresent() ? ErrorCode.POLICY_DENIED : ErrorCode.EGRESS_REFUSED,
                    failed.message(), extensions);
            default -> {
                failed.ledgerId().ifPresent(id -> extensions.put("ledger_id", id.toString()));
                extensions.put("duration_ms", failed.duration().toMillis());
                if (!failed.log().isEmpty()) {
                    extensions.put("log", failed.log());
                }
                yield new SomaException(ErrorCode.TOOL_FAILED, failed.message(), extensions);
            }
        };
    }

    private static Map<String, Object> call(ToolResult result) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("call_id", result.callId().toString());
        json.put("capsule", result.call().capsule());
        json.put("version", result.call().version());
        json.put("tool", result.call().tool());
        json.put("executor", result.call().executor());
        json.put("arguments_sha256", result.call().argumentsSha256());
        return json;
    }

    /**
     * Server-sent events of one call. The stream opens with {@code tool.started}; a call that
     * never starts (refused before it ran) is answered as a problem instead.
     */
    private static final class EventStream implements ToolSink {
        private final Context ctx;
        private OutputStream out;
        private int sequence;

        EventStream(Context ctx) {
            this.ctx = ctx;
        }

        boolean started() {
            return out != null;
        }

        @Override
        public synchronized void accept(ToolEvent event) {
            if (out == null && !(event instanceof ToolEvent.Started)) {
                return;
            }
            try {
                if (out == null) {
                    var response = ctx.res();
                    response.setStatus(200);
                    response.setContentType("text/event-stream");
                    response.setHeader("Cache-Control", "no-cache");
                    response.setHeader("X-Accel-Buffering", "no");
                    out = response.getOutputStream();
                }
                String frame = "event: %s\nid: %d\ndata: %s\n\n".formatted(event.type(), sequence++, Json.text(event.data()));
                out.write(frame.getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }
}
