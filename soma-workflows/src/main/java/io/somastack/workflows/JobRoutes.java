package io.somastack.workflows;

import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Idempotency;
import io.somastack.gateway.Principal;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.UUID;
import tools.jackson.databind.JsonNode;

/**
 * The job routes (scope {@code agents:run}): start a job ({@code Idempotency-Key} honoured), read
 * it with every node's state, answer an approval, cancel it, follow its events (SSE, resumable
 * with {@code Last-Event-ID}) and read its signed provenance. Another tenant's job is 404.
 */
public final class JobRoutes implements EndpointGroup {
    public static final String SCOPE = "agents:run";

    private final Guard guard;
    private final Jobs jobs;
    private final Idempotency idempotency;

    public JobRoutes(Guard guard, Jobs jobs, Idempotency idempotency) {
        this.guard = requireNonNull(guard, "guard is null");
        this.jobs = requireNonNull(jobs, "jobs is null");
        this.idempotency = requireNonNull(idempotency, "idempotency is null");
    }

    /** {@code POST /v1/jobs}: {@code team} is a team object or the name of an installed capsule whose manifest declares one. */
    record JobBody(JsonNode team, JsonNode input) {
    }

    /** {@code POST /v1/jobs/{id}/approvals/{node}}. */
    record ApprovalBody(Boolean approve, String comment) {
    }

    @Override
    public void addEndpoints() {
        post("/v1/jobs", this::start);
        get("/v1/jobs/{id}", ctx -> {
            Principal principal = guard.tenant(ctx, SCOPE);
            ctx.json(jobs.require(principal.tenant().id(), id(ctx)));
        });
        post("/v1/jobs/{id}/approvals/{node}", ctx -> {
            Principal principal = guard.tenant(ctx, SCOPE);
            ApprovalBody body = Json.read(ctx.bodyAsBytes(), ApprovalBody.class);
            if (body.approve() == null) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "approve is required: true or false");
            }
            ctx.json(jobs.approve(principal, Edge.requestId(ctx), id(ctx), ctx.pathParam("node"), body.approve(),
                    body.comment() == null ? "" : body.comment()));
        });
        post("/v1/jobs/{id}/cancel", ctx -> {
            Principal principal = guard.tenant(ctx, SCOPE);
            ctx.status(202).json(jobs.cancel(principal, Edge.requestId(ctx), id(ctx)));
        });
        get("/v1/jobs/{id}/events", this::events);
        get("/v1/jobs/{id}/provenance", ctx -> {
            Principal principal = guard.tenant(ctx, SCOPE);
            UUID id = id(ctx);
            String envelope = jobs.provenance(principal.tenant().id(), id).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND,
                    "Job %s has no provenance: only a completed job has one".formatted(id)));
            ctx.contentType("application/json").result(envelope);
        });
    }

    private void start(Context ctx) {
        Principal principal = guard.tenant(ctx, SCOPE);
        Optional<Idempotency.Request> keyed = idempotency.of(ctx, principal.tenant().id().value());
        if (idempotency.replay(ctx, keyed)) {
            return;
        }
        JobBody body = Json.read(ctx.bodyAsBytes(), JobBody.class);
        if (body.team() == null || body.team().isNull()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "team is required: the nodes and edges of the job, or the name of an installed capsule that declares a team");
        }
        Team team;
        if (body.team().isString()) {
            team = jobs.namedTeam(principal.tenant().id(), body.team().asString());
        } else if (body.team().isObject()) {
            team = Json.convert(body.team(), Team.class);
        } else {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "team must be an object (nodes and edges) or a string (the name of an installed capsule that declares a team)");
        }
        JsonNode input = body.input() == null ? Json.mapper().nullNode() : body.input();
        var job = jobs.start(principal, Edge.requestId(ctx), new Jobs.StartJob(team, input), keyed, idempotency);
        ctx.status(201).header("Location", "/v1/jobs/" + job.get("id")).json(job);
    }

    private void events(Context ctx) throws InterruptedException {
        Principal principal = guard.tenant(ctx, SCOPE);
        UUID id = id(ctx);
        jobs.require(principal.tenant().id(), id);
        int after = Edge.lastEventId(ctx, "job");
        var response = ctx.res();
        response.setStatus(200);
        response.setContentType("text/event-stream");
        response.setHeader("Cache-Control", "no-cache");
        response.setHeader("X-Accel-Buffering", "no");
        try {
            OutputStream out = response.getOutputStream();
            out.flush();
            jobs.follow(principal.tenant().id(), id, after, event -> {
                try {
                    out.write(event.sseFrame());
                    out.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException clientGone) {
            // The client left; the job goes on, and it resumes with Last-Event-ID.
        }
    }

    private static UUID id(Context ctx) {
        return Ids.parseUuid(ctx.pathParam("id"), "job");
    }
}
