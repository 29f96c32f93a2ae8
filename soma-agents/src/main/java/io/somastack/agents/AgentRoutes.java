package io.somastack.agents;

import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static io.javalin.apibuilder.ApiBuilder.put;
import static io.javalin.apibuilder.ApiBuilder.ws;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.javalin.apibuilder.ApiBuilder;
import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.javalin.websocket.WsConfig;
import io.javalin.websocket.WsContext;
import io.somastack.agents.internal.ResponseProjection;
import io.somastack.agents.internal.TenantSettings;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Idempotency;
import io.somastack.gateway.Principal;
import io.somastack.gateway.ResponseEgress;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.models.ToolChoice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import tools.jackson.databind.JsonNode;

/**
 * The agents' routes (scope {@code agents:run}): conversations, runs (JSON waits for the end;
 * {@code Accept: text/event-stream} streams the run's events), a run and its events (SSE,
 * resumable with {@code Last-Event-ID}), a run's signed provenance, and a conversation's
 * WebSocket (send {@code {"type":"input","input":...}} and {@code {"type":"cancel"}}, receive
 * the events). Another tenant's conversation or run is 404.
 */
public final class AgentRoutes implements EndpointGroup {
    public static final String SCOPE = "agents:run";
    private static final String PRINCIPAL = "agents.principal";

    private final Guard guard;
    private final Runs runs;
    private final Conversations conversations;
    private final AgentsConfig config;
    private final Idempotency idempotency;
    private final TenantSettings settings;
    private final Supplier<Map<String, Object>> provenanceJwks;

    public AgentRoutes(Guard guard, Runs runs, Conversations conversations, AgentsConfig config) {
        this(guard, runs, conversations, config, () -> Map.of("keys", List.of()));
    }

    /** With {@code provenanceJwks}, the provenance keys served at {@code GET /v1/provenance/jwks.json}. */
    public AgentRoutes(Guard guard, Runs runs, Conversations conversations, AgentsConfig config, Supplier<Map<String, Object>> provenanceJwks) {
        this.provenanceJwks = requireNonNull(provenanceJwks, "provenanceJwks is null");
        this.guard = requireNonNull(guard, "guard is null");
        this.runs = requireNonNull(runs, "runs is null");
        this.conversations = requireNonNull(conversations, "conversations is null");
        this.config = requireNonNull(config, "config is null");
        this.idempotency = new Idempotency(runs.jdbi());
        this.settings = runs.settings();
    }

    /**
     * The request's {@code Idempotency-Key} (validated) with its fingerprint: the route and the
     * SHA-256 of the body, so the same key on another route or with another body is a 409.
     */
    private Optional<Runs.RunKey> runKey(Context ctx, TenantId tenant) {
        return idempotency.of(ctx, tenant.value()).map(keyed -> new Runs.RunKey(keyed.key(), ctx.path() + " " + keyed.bodyHash()));
    }

    private static void replayed(Context ctx, Runs.Started started) {
        if (started.replayed()) {
            ctx.header("Idempotent-Replayed", "true");
        }
    }

    /** {@code POST /v1/conversations}. */
    record CreateConversation(String agent, Map<String, String> metadata) {
    }

    /** The body of a run: the input, and how the first model call must use tools. */
    record RunBody(String input, @JsonProperty("tool_choice") ToolChoice toolChoice) {
    }

    /**
     * {@code POST /v1/responses}, the OpenAI Responses API: {@code model} is {@code agent:<capsule>},
     * {@code input} a string or a list of user messages, {@code previous_response_id} continues that
     * response's conversation.
     */
    record ResponsesBody(String model, JsonNode input, Boolean stream, @JsonProperty("previous_response_id") String previousResponseId,
            Boolean store) {
    }

    @Override
    public void addEndpoints() {
        post("/v1/conversations", this::createConversation);
        get("/v1/conversations/{id}", ctx -> {
            Principal principal = guard.tenant(ctx, SCOPE);
            ctx.json(conversations.require(principal.tenant().id(), uuid(ctx.pathParam("id"), "conversation")).wire());
        });
        post("/v1/conversations/{id}/runs", ctx -> run(ctx, Optional.empty(), Optional.of(uuid(ctx.pathParam("id"), "conversation"))));
        post("/v1/agents/{capsule}/runs", ctx -> run(ctx, Optional.of(ctx.pathParam("capsule")), Optional.empty()));
        post("/v1/responses", this::respond);
        get("/v1/responses/{id}", this::retrieveResponse);
        get("/v1/runs/{id}", ctx -> {
            Principal principal = guard.tenant(ctx, SCOPE);
            ctx.json(runs.require(principal.tenant().id(), uuid(ctx.pathParam("id"), "run")).wire());
        });
        get("/v1/runs/{id}/events", this::events);
        post("/v1/runs/{id}/cancel", this::cancel);
        // Public, like /.well-known/jwks.json: anyone holding a provenance record may verify it.
        get("/v1/provenance/jwks.json", ctx -> ctx.header("Cache-Control", "max-age=60").json(provenanceJwks.get()));
        get("/v1/runs/{id}/provenance", ctx -> {
            Principal principal = guard.tenant(ctx, SCOPE);
            UUID id = uuid(ctx.pathParam("id"), "run");
            Run run = runs.require(principal.tenant().id(), id);
            String envelope = runs.provenance(principal.tenant().id(), id).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND,
                    "Run %s has no provenance: it is %s, and only a completed run has an answer to vouch for".formatted(id, run.status().wire())));
            ctx.contentType("application/json").result(envelope);
        });
        ApiBuilder.staticInstance().wsBeforeUpgrade("/v1/conversations/{id}/ws", ctx -> {
            Principal principal = guard.tenant(ctx, SCOPE);
            conversations.require(principal.tenant().id(), uuid(ctx.pathParam("id"), "conversation"));
            ctx.attribute(PRINCIPAL, principal);
        });
        ws("/v1/conversations/{id}/ws", this::webSocket);
        get("/v1/admin/tenants/{id}/agent-settings", ctx -> ctx.json(settingsView(settingsTenant(ctx))));
        put("/v1/admin/tenants/{id}/agent-settings", ctx -> {
            guard.operator(ctx);
            AgentSettingsBody body = Json.read(ctx.bodyAsBytes(), AgentSettingsBody.class);
            if (body.onClientGone() == null || !body.onClientGone().equals("continue") && !body.onClientGone().equals("cancel")) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "on_client_gone must be continue (a run goes on when its client leaves) or cancel",
                        Map.of("field", "on_client_gone"));
            }
            TenantId tenant = settingsTenant(ctx);
            if (!settings.setOnClientGone(tenant, body.onClientGone(), "operator", Edge.requestId(ctx))) {
                throw new SomaException(ErrorCode.NOT_FOUND, "No tenant %s".formatted(tenant));
            }
            ctx.json(settingsView(tenant));
        });
    }

    private void createConversation(Context ctx) {
        Principal principal = guard.tenant(ctx, SCOPE);
        CreateConversation body = Json.read(ctx.bodyAsBytes(), CreateConversation.class);
        if (body.agent() == null || body.agent().isBlank()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "agent is required: the name of an installed capsule");
        }
        Conversation conversation = conversations.create(principal, Edge.requestId(ctx), body.agent(),
                body.metadata() == null ? Map.of() : body.metadata());
        ctx.status(201).header("Location", "/v1/conversations/" + conversation.id()).json(conversation.wire());
    }

    private void run(Context ctx, Optional<String> agent, Optional<UUID> conversation) throws InterruptedException {
        Principal principal = guard.tenant(ctx, SCOPE);
        RunBody body = Json.read(ctx.bodyAsBytes(), RunBody.class);
        if (body.input() == null) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "input is required: the text the agent should answer");
        }
        TenantId tenant = principal.tenant().id();
        Runs.Started started = runs.start(principal, Edge.requestId(ctx),
                new Runs.StartRun(agent, conversation, body.input(), Optional.ofNullable(body.toolChoice())), runKey(ctx, tenant));
        ctx.header("Location", "/v1/runs/" + started.runId());
        replayed(ctx, started);
        ResponseEgress.meter(ctx, "run:" + started.runId());
        if (streaming(ctx)) {
            stream(ctx, tenant, started.runId(), 0, new byte[0], StoredEvent::sseFrame);
            return;
        }
        runs.awaitEnd(tenant, started.runId(), 0, event -> {
        });
        ctx.json(runs.require(tenant, started.runId()).wire());
    }

    private void events(Context ctx) throws InterruptedException {
        Principal principal = guard.tenant(ctx, SCOPE);
        UUID id = uuid(ctx.pathParam("id"), "run");
        int after = Edge.lastEventId(ctx, "run");
        // Each read of a run's events is sent again: its own egress.
        ResponseEgress.meter(ctx, "run:" + id + ":read:" + UUID.randomUUID());
        streamEvents(ctx, principal.tenant().id(), id, after);
    }

    /**
     * Streams the tenant's run as {@code GET /v1/runs/{id}/events} does (its events after {@code after}
     * as server-sent events until the terminal one; another tenant's run is a 404), for a caller that
     * authorized the request itself: the console's session.
     */
    public void streamEvents(Context ctx, TenantId tenant, UUID runId, int after) throws InterruptedException {
        runs.require(tenant, runId);
        stream(ctx, tenant, runId, after, new byte[0], StoredEvent::sseFrame);
    }

    /**
     * {@code POST /v1/runs/{id}/cancel}: cancels the tenant's run (its model stream and any tool
     * call under way stop) and answers the run once it ended, also when another node runs it (the
     * request is stored and that node told). A run already cancelled answers as it is (a retry);
     * one that ended otherwise is 409.
     */
    private void cancel(Context ctx) throws InterruptedException {
        Principal principal = guard.tenant(ctx, SCOPE);
        TenantId tenant = principal.tenant().id();
        UUID id = uuid(ctx.pathParam("id"), "run");
        Run run = runs.require(tenant, id);
        if (run.status() != RunStatus.RUNNING) {
            if (run.status() == RunStatus.CANCELLED) {
                ctx.json(run.wire());
                return;
            }
            throw new SomaException(ErrorCode.CONFLICT, "Run %s already ended: it is %s".formatted(id, run.status().wire()),
                    Map.of("status", run.status().wire()));
        }
        if (!runs.cancel(tenant, id, "client")) {
            // It ended in the meantime.
            ctx.json(runs.require(tenant, id).wire());
            return;
        }
        runs.awaitEnd(tenant, id, run.lastSeq(), event -> {
        });
        ctx.json(runs.require(tenant, id).wire());
    }

    /**
     * Streams {@code preamble}, then the run's events after {@code after}, each as {@code frames}
     * makes it, as server-sent events until its terminal event.
     */
    private void stream(Context ctx, TenantId tenant, UUID runId, int after, byte[] preamble, Function<StoredEvent, byte[]> frames)
            throws InterruptedException {
        var response = ctx.res();
        response.setStatus(200);
        response.setContentType("text/event-stream");
        response.setHeader("Cache-Control", "no-cache");
        response.setHeader("X-Accel-Buffering", "no");
        OutputStream out;
        try {
            out = response.getOutputStream();
            out.write(preamble);
            out.flush();
        } catch (IOException e) {
            clientGone(tenant, runId);
            return;
        }
        try {
            runs.follow(tenant, runId, after, event -> {
                try {
                    out.write(frames.apply(event));
                    out.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            clientGone(tenant, runId);
        }
    }

    /**
     * Runs the agent {@code agent:<capsule>} names in a conversation: a new one, or the one of
     * {@code previous_response_id}. JSON waits for the end and answers the {@code response};
     * {@code stream: true} sends the Responses API's streaming events (see {@link ResponseProjection}).
     */
    private void respond(Context ctx) throws InterruptedException {
        Principal principal = guard.tenant(ctx, SCOPE);
        ResponsesBody body = Json.read(ctx.bodyAsBytes(), ResponsesBody.class);
        if (body.model() == null || !body.model().startsWith("agent:") || body.model().length() == "agent:".length()) {
            throw new SomaException(ErrorCode.UNKNOWN_MODEL, "/v1/responses runs agents: model must be agent:<capsule>, an installed capsule; "
                    + "for a model itself use /v1/chat/completions");
        }
        if (Boolean.FALSE.equals(body.store())) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "store must be true or absent: every run is stored, with its events and provenance");
        }
        String capsule = body.model().substring("agent:".length());
        String input = responseInput(body.input());
        TenantId tenant = principal.tenant().id();
        Runs.StartRun command;
        if (body.previousResponseId() != null) {
            String previousId = body.previousResponseId();
            Run previous = ResponseProjection.runId(previousId).flatMap(id -> runs.find(tenant, id)).orElseThrow(() -> new SomaException(
                    ErrorCode.NOT_FOUND, "No response %s in this tenant".formatted(previousId.length() > 64 ? previousId.substring(0, 64) + "…" : previousId)));
            if (!previous.agent().equals(capsule)) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "Response %s is a conversation with agent:%s; it cannot continue with %s"
                        .formatted(previousId, previous.agent(), body.model()));
            }
            UUID conversation = previous.conversationId().orElseThrow(() -> new SomaException(ErrorCode.INVALID_REQUEST,
                    "Response %s was a one-shot run without a conversation; only responses made by /v1/responses continue".formatted(previousId)));
            command = new Runs.StartRun(Optional.empty(), Optional.of(conversation), input, Optional.empty(), false, Optional.of(previous.id()));
        } else {
            command = new Runs.StartRun(Optional.of(capsule), Optional.empty(), input, Optional.empty(), true);
        }
        Runs.Started started = runs.start(principal, Edge.requestId(ctx), command, runKey(ctx, tenant));
        replayed(ctx, started);
        ResponseEgress.meter(ctx, "run:" + started.runId());
        ResponseProjection projection = new ResponseProjection(started.runId(), body.model(), capsule, started.started().at(),
                Optional.ofNullable(body.previousResponseId()));
        ctx.header("Location", "/v1/runs/" + started.runId());
        if (Boolean.TRUE.equals(body.stream())) {
            ByteArrayOutputStream preamble = new ByteArrayOutputStream();
            projection.begin().forEach(event -> preamble.writeBytes(ResponseProjection.sseFrame(event)));
            stream(ctx, tenant, started.runId(), 0, preamble.toByteArray(), event -> {
                ByteArrayOutputStream frames = new ByteArrayOutputStream();
                projection.accept(event).forEach(each -> frames.writeBytes(ResponseProjection.sseFrame(each)));
                return frames.toByteArray();
            });
            return;
        }
        runs.awaitEnd(tenant, started.runId(), 0, projection::accept);
        ctx.json(projection.response());
    }

    /**
     * {@code GET /v1/responses/{id}}: the tenant's run as a {@code response}, projected from its
     * stored events (so a running run answers {@code in_progress} with the output so far).
     */
    private void retrieveResponse(Context ctx) {
        Principal principal = guard.tenant(ctx, SCOPE);
        TenantId tenant = principal.tenant().id();
        String responseId = ctx.pathParam("id");
        Run run = ResponseProjection.runId(responseId).flatMap(id -> runs.find(tenant, id)).orElseThrow(() -> new SomaException(
                ErrorCode.NOT_FOUND, "No response %s in this tenant".formatted(responseId.length() > 64 ? responseId.substring(0, 64) + "…" : responseId)));
        List<StoredEvent> events = runs.stored(tenant, run.id());
        // Created when run.started was stored, as the response a POST answered says.
        ResponseProjection projection = new ResponseProjection(run.id(), "agent:" + run.agent(), run.agent(), events.getFirst().at(),
                runs.continues(tenant, run.id()).map(ResponseProjection::responseId));
        events.forEach(projection::accept);
        ctx.json(projection.response());
    }

    /** A Responses API {@code input}: a string, or user messages whose content is a string or {@code input_text} parts, joined. */
    private static String responseInput(JsonNode input) {
        if (input == null || input.isNull()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "input is required: the text the agent should answer");
        }
        if (input.isString()) {
            return input.asString();
        }
        String shape = "input is a string or a list of {\"role\": \"user\", \"content\": a string or [{\"type\": \"input_text\", \"text\"}]}";
        if (!input.isArray()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, shape);
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode message : input) {
            if (!message.isObject() || !"user".equals(message.path("role").asString("")) || message.has("type") && !"message".equals(
                    message.path("type").asString(""))) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, shape + "; the agent's own instructions and history are kept by the server");
            }
            JsonNode content = message.path("content");
            if (content.isString()) {
                append(text, content.asString());
            } else if (content.isArray()) {
                for (JsonNode part : content) {
                    if (!part.isObject() || !"input_text".equals(part.path("type").asString("")) || !part.path("text").isString()) {
                        throw new SomaException(ErrorCode.INVALID_REQUEST, shape + "; only input_text parts are supported");
                    }
                    append(text, part.path("text").asString());
                }
            } else {
                throw new SomaException(ErrorCode.INVALID_REQUEST, shape);
            }
        }
        return text.toString();
    }

    private static void append(StringBuilder text, String part) {
        if (!text.isEmpty()) {
            text.append("\n\n");
        }
        text.append(part);
    }

    private void clientGone(TenantId tenant, UUID runId) {
        if (cancelOnClientGone(tenant)) {
            runs.cancel(tenant, runId, "client_gone");
        }
    }

    /** The tenant's {@code on_client_gone} when the operator set one, else the server's {@code agents.on-client-gone}. */
    private boolean cancelOnClientGone(TenantId tenant) {
        return settings.onClientGone(tenant).map("cancel"::equals).orElse(config.cancelOnClientGone());
    }

    /** {@code PUT /v1/admin/tenants/{id}/agent-settings}. */
    record AgentSettingsBody(@JsonProperty("on_client_gone") String onClientGone) {
    }

    /** The operator's view of a tenant's agent settings: the value, and whether the tenant's own or the server's. */
    private Map<String, Object> settingsView(TenantId tenant) {
        Optional<String> own = settings.onClientGone(tenant);
        return Map.of("tenant_id", tenant.toString(), "on_client_gone", own.orElse(config.cancelOnClientGone() ? "cancel" : "continue"),
                "source", own.isPresent() ? "tenant" : "server");
    }

    private TenantId settingsTenant(Context ctx) {
        guard.operator(ctx);
        TenantId tenant;
        try {
            tenant = TenantId.parse(ctx.pathParam("id"));
        } catch (RuntimeException e) {
            throw new SomaException(ErrorCode.NOT_FOUND, "No tenant %s".formatted(ctx.pathParam("id")));
        }
        if (!settings.tenantExists(tenant)) {
            throw new SomaException(ErrorCode.NOT_FOUND, "No tenant %s".formatted(tenant));
        }
        return tenant;
    }

    /**
     * A conversation's WebSocket: each {@code {"type":"input","input":"...","tool_choice"?}} starts
     * a run whose events come back as {@code {"type","seq","run_id","data"}} messages;
     * {@code {"type":"cancel"}} cancels this connection's runs. A refusal comes back as
     * {@code {"type":"error","status","code","detail"}}.
     */
    private void webSocket(WsConfig ws) {
        Map<String, Set<UUID>> running = new ConcurrentHashMap<>();
        ws.onConnect(ctx -> {
            running.put(ctx.sessionId(), ConcurrentHashMap.newKeySet());
            ctx.enableAutomaticPings();
        });
        ws.onMessage(ctx -> {
            Principal principal = ctx.attribute(PRINCIPAL);
            Set<UUID> mine = running.computeIfAbsent(ctx.sessionId(), id -> ConcurrentHashMap.newKeySet());
            try {
                JsonNode message = Json.tree(ctx.message().getBytes(StandardCharsets.UTF_8));
                String type = message.path("type").asString("");
                switch (type) {
                    case "cancel" -> mine.forEach(runId -> runs.cancel(principal.tenant().id(), runId, "client"));
                    case "input" -> {
                        Map<String, Object> fields = new LinkedHashMap<>();
                        message.properties().forEach(field -> {
                            if (!field.getKey().equals("type")) {
                                fields.put(field.getKey(), field.getValue());
                            }
                        });
                        RunBody body = Json.convert(Json.mapper().valueToTree(fields), RunBody.class);
                        if (body.input() == null) {
                            throw new SomaException(ErrorCode.INVALID_REQUEST, "input is required: the text the agent should answer");
                        }
                        Runs.Started started = runs.start(principal, "ws-" + ctx.sessionId(), new Runs.StartRun(Optional.empty(),
                                Optional.of(UUID.fromString(ctx.pathParam("id"))), body.input(), Optional.ofNullable(body.toolChoice())));
                        mine.add(started.runId());
                        Thread.ofVirtual().start(() -> forward(ctx, principal.tenant().id(), started.runId(), mine));
                    }
                    default -> throw new SomaException(ErrorCode.INVALID_REQUEST, "A message is {\"type\": \"input\", \"input\": \"...\"} or {\"type\": \"cancel\"}");
                }
            } catch (SomaException e) {
                send(ctx, Json.text(Map.of("type", "error", "status", e.code().status(), "code", e.code().type(), "detail", e.detail())));
            }
        });
        ws.onClose(ctx -> {
            Set<UUID> mine = running.remove(ctx.sessionId());
            Principal principal = ctx.attribute(PRINCIPAL);
            if (mine != null && principal != null && cancelOnClientGone(principal.tenant().id())) {
                mine.forEach(runId -> runs.cancel(principal.tenant().id(), runId, "client_gone"));
            }
        });
    }

    private void forward(WsContext ctx, TenantId tenant, UUID runId, Set<UUID> mine) {
        try {
            runs.follow(tenant, runId, 0, event -> send(ctx, event.json()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            clientGone(tenant, runId);
        } finally {
            mine.remove(runId);
        }
    }

    /** Sends one message; a session's messages go out one at a time. */
    private static void send(WsContext ctx, String text) {
        synchronized (ctx.session) {
            ctx.send(text);
        }
    }

    private static boolean streaming(Context ctx) {
        String accept = ctx.header("Accept");
        return accept != null && accept.contains("text/event-stream");
    }

    private static UUID uuid(String text, String what) {
        try {
            return UUID.fromString(text);
        } catch (IllegalArgumentException e) {
            throw new SomaException(ErrorCode.NOT_FOUND, "No %s %s".formatted(what, text.length() > 64 ? text.substring(0, 64) + "…" : text));
        }
    }
}
