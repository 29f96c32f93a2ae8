package io.somastack.agents;

import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static io.javalin.apibuilder.ApiBuilder.ws;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.javalin.apibuilder.ApiBuilder;
import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.javalin.websocket.WsConfig;
import io.javalin.websocket.WsContext;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.models.ToolChoice;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
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

    public AgentRoutes(Guard guard, Runs runs, Conversations conversations, AgentsConfig config) {
        this.guard = requireNonNull(guard, "guard is null");
        this.runs = requireNonNull(runs, "runs is null");
        this.conversations = requireNonNull(conversations, "conversations is null");
        this.config = requireNonNull(config, "config is null");
    }

    /** {@code POST /v1/conversations}. */
    record CreateConversation(String agent, Map<String, String> metadata) {
    }

    /** The body of a run: the input, and how the first model call must use tools. */
    record RunBody(String input, @JsonProperty("tool_choice") ToolChoice toolChoice) {
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
        get("/v1/runs/{id}", ctx -> {
            Principal principal = guard.tenant(ctx, SCOPE);
            ctx.json(runs.require(principal.tenant().id(), uuid(ctx.pathParam("id"), "run")).wire());
        });
        get("/v1/runs/{id}/events", this::events);
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
        Runs.Started started = runs.start(principal, Edge.requestId(ctx),
                new Runs.StartRun(agent, conversation, body.input(), Optional.ofNullable(body.toolChoice())));
        TenantId tenant = principal.tenant().id();
        ctx.header("Location", "/v1/runs/" + started.runId());
        if (streaming(ctx)) {
            stream(ctx, tenant, started.runId(), 0);
            return;
        }
        runs.follow(tenant, started.runId(), 0, event -> {
        });
        ctx.json(runs.require(tenant, started.runId()).wire());
    }

    private void events(Context ctx) throws InterruptedException {
        Principal principal = guard.tenant(ctx, SCOPE);
        UUID id = uuid(ctx.pathParam("id"), "run");
        runs.require(principal.tenant().id(), id);
        String last = ctx.header("Last-Event-ID");
        int after = 0;
        if (last != null && !last.isBlank()) {
            try {
                after = Integer.parseInt(last.strip());
            } catch (NumberFormatException e) {
                after = -1;
            }
            if (after < 0) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "Last-Event-ID must be the id (a sequence number, 0 or more) of an event of this run");
            }
        }
        stream(ctx, principal.tenant().id(), id, after);
    }

    /** Streams the run's events after {@code after} as server-sent events until its terminal event. */
    private void stream(Context ctx, TenantId tenant, UUID runId, int after) throws InterruptedException {
        var response = ctx.res();
        response.setStatus(200);
        response.setContentType("text/event-stream");
        response.setHeader("Cache-Control", "no-cache");
        response.setHeader("X-Accel-Buffering", "no");
        OutputStream out;
        try {
            out = response.getOutputStream();
            out.flush();
        } catch (IOException e) {
            clientGone(tenant, runId);
            return;
        }
        try {
            runs.follow(tenant, runId, after, event -> {
                try {
                    out.write(event.sseFrame());
                    out.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            clientGone(tenant, runId);
        }
    }

    private void clientGone(TenantId tenant, UUID runId) {
        if (config.cancelOnClientGone()) {
            runs.cancel(tenant, runId, "client_gone");
        }
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
            if (mine != null && principal != null && config.cancelOnClientGone()) {
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
