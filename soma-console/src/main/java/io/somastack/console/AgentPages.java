package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.somastack.agents.AnswerProvenance;
import io.somastack.agents.Run;
import io.somastack.agents.Runs;
import io.somastack.agents.StoredEvent;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.marketplace.Installed;
import io.somastack.marketplace.Marketplace;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The tenant's Agents pages: the installed agents (capsules installed in the tenant), and a
 * run's page with its stored events and its provenance checked with
 * {@link AnswerProvenance#verify} against the same JWKS as {@code /v1/provenance/jwks.json}.
 */
public final class AgentPages {
    private final Marketplace marketplace;
    private final Runs runs;
    private final Supplier<Map<String, Object>> provenanceJwks;

    public AgentPages(Marketplace marketplace, Runs runs, Supplier<Map<String, Object>> provenanceJwks) {
        this.marketplace = requireNonNull(marketplace, "marketplace is null");
        this.runs = requireNonNull(runs, "runs is null");
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
            rows.append("<tr><th scope=\"row\"><a href=\"/console/marketplace/%s\">%s</a></th><td>%s</td><td>%s</td><td>%s</td></tr>\n".formatted(
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

    void run(Context ctx, Session session) {
        UUID id = id(ctx.pathParam("id"));
        Run run = runs.require(session.tenant().orElseThrow(), id);
        StringBuilder rows = new StringBuilder();
        for (StoredEvent event : runs.stored(session.tenant().orElseThrow(), id)) {
            rows.append("<tr><th scope=\"row\">%d</th><td>%s</td><td>%s</td><td><code>%s</code></td></tr>\n".formatted(event.seq(),
                    Html.text(event.type()), Html.text(event.at()), Html.text(event.dataJson())));
        }
        Optional<String> envelope = runs.provenance(session.tenant().orElseThrow(), id);
        String provenance;
        if (envelope.isEmpty()) {
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
                <table id="events"><caption>Events</caption><thead><tr><th scope="col">#</th><th scope="col">Type</th><th scope="col">At</th>
                <th scope="col">Data</th></tr></thead><tbody>%s</tbody></table>
                """.formatted(Html.text(run.agent()), Html.text(run.version()), Html.text(run.status().wire()), Html.text(run.createdAt()),
                Html.text(run.input()), Html.text(run.answer().orElse(run.message().orElse("(none yet)"))), provenance, rows));
    }

    private static UUID id(String text) {
        return Ids.parseUuid(text, "run id");
    }
}
