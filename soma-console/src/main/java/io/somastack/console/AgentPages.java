package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.somastack.agents.AgentRoutes;
import io.somastack.agents.AnswerProvenance;
import io.somastack.agents.Run;
import io.somastack.agents.RunStatus;
import io.somastack.agents.Runs;
import io.somastack.agents.StoredEvent;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Principal;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.StorableText;
import io.somastack.marketplace.Installed;
import io.somastack.marketplace.Marketplace;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The tenant's Agents pages: the installed agents (capsules installed in the tenant); an agent's
 * page with a form that starts a run ({@link Runs#start}, as {@code POST /v1/agents/{capsule}/runs});
 * and a run's page with its stored events, streamed live while it runs (a static script's
 * EventSource on {@code /console/runs/{id}/events}, which {@link AgentRoutes#streamEvents} answers
 * as {@code GET /v1/runs/{id}/events}), and its provenance checked with {@link AnswerProvenance#verify}
 * against the same JWKS as {@code /v1/provenance/jwks.json}.
 */
public final class AgentPages {
    /** The longest run input the form takes. */
    static final int MAX_INPUT = 4000;

    private final Marketplace marketplace;
    private final Runs runs;
    private final AgentRoutes streams;
    private final Tenants tenants;
    private final Supplier<Map<String, Object>> provenanceJwks;

    public AgentPages(Marketplace marketplace, Runs runs, AgentRoutes streams, Tenants tenants, Supplier<Map<String, Object>> provenanceJwks) {
        this.marketplace = requireNonNull(marketplace, "marketplace is null");
        this.runs = requireNonNull(runs, "runs is null");
        this.streams = requireNonNull(streams, "streams is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
        this.provenanceJwks = requireNonNull(provenanceJwks, "provenanceJwks is null");
    }

    /** The run id of {@code ?run=}, if any; a bad one is a 400 even before sign-in. */
    static Optional<UUID> runParameter(Context ctx) {
        String run = Optional.ofNullable(ctx.queryParam("run")).orElse("").trim();
        return run.isEmpty() ? Optional.empty() : Optional.of(id(run));
    }

    /** With {@code ?run=} (the form below), leads to that run's page. */
    void agents(Context ctx, Session session) {
        Optional<UUID> run = runParameter(ctx);
        if (run.isPresent()) {
            ctx.redirect("/console/runs/" + run.get(), HttpStatus.SEE_OTHER);
            return;
        }
        List<Installed> installed = marketplace.installs().list(session.tenant().orElseThrow());
        StringBuilder rows = new StringBuilder();
        for (Installed agent : installed) {
            rows.append("<tr><th scope=\"row\"><a href=\"/console/agents/%s\">%s</a></th><td>%s</td><td>%s</td><td>%s</td></tr>\n".formatted(
                    Html.text(Html.url(agent.name())), Html.text(agent.name()), Html.text(agent.version()), Html.text(agent.installedAt()),
                    agent.revoked() ? "revoked: not runnable" : "runnable"));
        }
        String table = installed.isEmpty() ? "<p id=\"no-agents\">No agent installed: install one from the Marketplace.</p>" : """
                <table id="agents"><caption>Installed agents</caption><thead><tr><th scope="col">Agent</th><th scope="col">Version</th>
                <th scope="col">Installed</th><th scope="col">State</th></tr></thead><tbody>%s</tbody></table>""".formatted(rows);
        Layout.render(ctx, "Agents", Optional.of(session), """
                %s
                <form method="get" action="/console/agents" class="filters">
                <label for="run">Run id</label><input id="run" name="run" required maxlength="36" spellcheck="false">
                <button type="submit">Open run</button>
                </form>
                """.formatted(table));
    }

    /** An installed agent, with the form that starts a run of it. */
    void agent(Context ctx, Session session) {
        agentPage(ctx, session, "", "");
    }

    private void agentPage(Context ctx, Session session, String error, String input) {
        String name = StorableText.require("name", ctx.pathParam("name"));
        Installed agent = marketplace.installs().find(session.tenant().orElseThrow(), name)
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No agent '%s' is installed in this tenant".formatted(name)));
        String start = agent.revoked() ? "<p id=\"not-runnable\" class=\"error\">This version was revoked: it cannot run.</p>" : """
                <h2>Start a run</h2>
                %s
                <form method="post" action="/console/agents/%s/runs" class="card wide">%s
                <label for="input">Input</label>
                <textarea id="input" name="input" rows="4" required maxlength="%d">%s</textarea>
                <button type="submit">Start the run</button>
                </form>""".formatted(error, Html.text(Html.url(name)), Layout.csrfField(session), MAX_INPUT, Html.text(input));
        Layout.render(ctx, "Agent " + name, Optional.of(session), """
                <p>Version <strong id="agent-version">%s</strong>, installed %s by %s (decision <code>%s</code>);
                <a href="/console/marketplace/%s">its marketplace page</a>.</p>
                %s
                """.formatted(Html.text(agent.version()), Html.text(agent.installedAt()), Html.text(agent.installedBy()),
                Html.text(agent.decisionId()), Html.text(Html.url(name)), start));
    }

    /** Starts a run of the agent (scope {@code agents:run}) and leads to its page, where it streams. */
    void startRun(Context ctx, Session session) {
        String name = StorableText.require("name", ctx.pathParam("name"));
        String input = Optional.ofNullable(ctx.formParam("input")).orElse("").strip();
        if (input.isEmpty() || input.length() > MAX_INPUT) {
            agentPage(ctx, session, "<p class=\"error\" role=\"alert\">The input must be 1 to %d characters.</p>".formatted(MAX_INPUT), input);
            return;
        }
        Principal principal = tenants.authenticateSession(session.keyId().orElseThrow());
        Runs.Started started;
        try {
            started = runs.start(principal, Edge.requestId(ctx), new Runs.StartRun(Optional.of(name), Optional.empty(), input, Optional.empty()));
        } catch (SomaException e) {
            if (e.code().status() >= 500 || e.code() == ErrorCode.NOT_FOUND) {
                throw e;
            }
            // A refusal (budget, policy, revoked) is the page's content, as the other forms' outcomes are.
            agentPage(ctx, session, "<p class=\"error\" role=\"alert\" id=\"run-refused\">%s</p>".formatted(Html.text(e.detail())), input);
            return;
        }
        ctx.redirect("/console/runs/" + started.runId(), HttpStatus.SEE_OTHER);
    }

    /**
     * The run's events as server-sent events, from the session's tenant only: after the
     * {@code Last-Event-ID} the browser resends when it reconnects, else after {@code ?after=}
     * (the last event the page drew).
     */
    void events(Context ctx, Session session) {
        UUID id = id(ctx.pathParam("id"));
        try {
            streams.streamEvents(ctx, session.tenant().orElseThrow(), id, after(ctx));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Where the stream resumes: {@code Last-Event-ID} when sent, else {@code ?after=}; a bad one is a 400 even before sign-in. */
    static int after(Context ctx) {
        return ctx.header("Last-Event-ID") != null ? Edge.lastEventId(ctx, "run") : Edge.eventId(ctx.queryParam("after"), "after", "run");
    }

    void run(Context ctx, Session session) {
        UUID id = id(ctx.pathParam("id"));
        Run run = runs.require(session.tenant().orElseThrow(), id);
        StringBuilder rows = new StringBuilder();
        List<StoredEvent> events = runs.stored(session.tenant().orElseThrow(), id);
        for (StoredEvent event : events) {
            rows.append("<tr><th scope=\"row\">%d</th><td>%s</td><td>%s</td><td><code>%s</code></td></tr>\n".formatted(event.seq(),
                    Html.text(event.type()), Html.text(event.at()), Html.text(event.dataJson())));
        }
        Optional<String> envelope = runs.provenance(session.tenant().orElseThrow(), id);
        boolean live = run.status() == RunStatus.RUNNING;
        String provenance;
        if (live) {
            provenance = "<p id=\"provenance\">The run is under way: its provenance is verified once it completes.</p>";
        } else if (envelope.isEmpty()) {
            provenance = "<p id=\"provenance\">No provenance: only a completed run has an answer to vouch for.</p>";
        } else {
            AnswerProvenance.Verification verification = AnswerProvenance.verify(envelope.get().getBytes(StandardCharsets.UTF_8),
                    Json.text(provenanceJwks.get()));
            provenance = verification.valid()
                    ? "<p id=\"provenance\" class=\"badge good\">Provenance verified against /v1/provenance/jwks.json</p>"
                    : "<div id=\"provenance\" class=\"error\" role=\"alert\"><p>Provenance does not verify:</p><ul>%s</ul></div>".formatted(
                            verification.problems().stream().map(problem -> "<li>" + Html.text(problem) + "</li>").reduce("", String::concat));
        }
        Layout.render(ctx, "Run " + id, Optional.of(session), """
                <p>Agent <strong id="run-agent">%s</strong> %s, status <strong id="run-status">%s</strong>, started %s.</p>
                <p>Input: <span id="run-input">%s</span></p>
                <p>Answer: <span id="run-answer">%s</span></p>
                <h2>Provenance</h2>
                %s
                <table id="events"%s><caption>Events%s</caption><thead><tr><th scope="col">#</th><th scope="col">Type</th><th scope="col">At</th>
                <th scope="col">Data</th></tr></thead><tbody aria-live="polite">%s</tbody></table>
                """.formatted(Html.text(run.agent()), Html.text(run.version()), Html.text(run.status().wire()), Html.text(run.createdAt()),
                Html.text(run.input()), Html.text(run.answer().orElse(run.message().orElse("(none yet)"))), provenance,
                live ? " data-stream=\"/console/runs/%s/events?after=%d\"".formatted(id, events.isEmpty() ? 0 : events.getLast().seq()) : "",
                live ? " (live)" : "", rows), live ? new String[] {"run.js"} : new String[0]);
    }

    private static UUID id(String text) {
        return Ids.parseUuid(text, "run id");
    }
}
