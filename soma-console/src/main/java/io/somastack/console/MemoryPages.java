package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Principal;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.SomaException;
import io.somastack.memory.Caller;
import io.somastack.memory.Fact;
import io.somastack.memory.Memories;
import io.somastack.memory.Provenance;
import io.somastack.memory.Recall;
import io.somastack.memory.RecallMode;
import io.somastack.memory.RecallQuery;
import io.somastack.memory.Scope;
import io.somastack.memory.StoredMemory;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * The tenant's Memory pages: recall (hybrid) with each fact's score and provenance; a
 * memory's revisions; and forgetting a memory, which needs a ticked confirmation. They call
 * {@link Memories} as the signed-in key's caller, so the key's scopes and agent restriction
 * hold here as on {@code /v1/memories}, and every recall is recorded.
 */
public final class MemoryPages {
    private final Memories memories;
    private final Tenants tenants;

    public MemoryPages(Memories memories, Tenants tenants) {
        this.memories = requireNonNull(memories, "memories is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
    }

    void recall(Context ctx, Session session) {
        String query = Optional.ofNullable(ctx.queryParam("q")).orElse("").trim();
        String scopeText = Optional.ofNullable(ctx.queryParam("scope")).orElse("").trim();
        String results = "";
        if (!query.isEmpty()) {
            Recall recall = memories.recall(caller(ctx, session), RecallQuery.of(query, List.of(scope(scopeText)), 10, RecallMode.HYBRID));
            results = facts(recall);
        }
        Layout.render(ctx, "Memory", Optional.of(session), """
                <form method="get" action="/console/memory" class="filters">
                <label for="q">Recall</label><input id="q" name="q" value="%s" required maxlength="2000">
                <label for="scope">Scope (kind:id; empty for the tenant)</label><input id="scope" name="scope" value="%s" placeholder="agent:ops">
                <button type="submit">Recall</button>
                </form>
                %s
                """.formatted(Html.text(query), Html.text(scopeText), results));
    }

    private static String facts(Recall recall) {
        if (recall.facts().isEmpty()) {
            return "<p id=\"no-facts\">Nothing recalled.</p>";
        }
        StringBuilder rows = new StringBuilder();
        for (Fact fact : recall.facts()) {
            rows.append(String.format(Locale.ROOT, "<tr><td>%.4f</td><th scope=\"row\"><a href=\"/console/memory/%s\">%s</a></th><td>%s</td><td>%s</td></tr>%n",
                    fact.score(), fact.memoryId(), Html.text(fact.text()), Html.text(fact.scope().key()),
                    Html.text(provenance(fact.provenance()))));
        }
        return """
                <table id="facts"><caption>Recalled facts (recall %s)</caption><thead><tr><th scope="col">Score</th><th scope="col">Fact</th>
                <th scope="col">Scope</th><th scope="col">Provenance</th></tr></thead><tbody>%s</tbody></table>""".formatted(recall.id(), rows);
    }

    void memory(Context ctx, Session session) {
        memoryPage(ctx, session, memories.memory(caller(ctx, session), id(ctx)), "");
    }

    private void memoryPage(Context ctx, Session session, StoredMemory memory, String notice) {
        StringBuilder rows = new StringBuilder();
        for (StoredMemory.Revision revision : memory.revisions()) {
            rows.append("<tr><th scope=\"row\">%d</th><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n".formatted(revision.number(),
                    Html.text(revision.text().orElse("(erased)")), Html.text(provenance(revision.provenance())), Html.text(revision.createdAt()),
                    Html.text(revision.createdBy())));
        }
        String forget = memory.deletedAt().isPresent()
                ? "<p id=\"forgotten\">Forgotten at %s: the text and embeddings are erased; this record remains.</p>".formatted(
                        Html.text(memory.deletedAt().get()))
                : """
                <h2>Forget this memory</h2>
                <form method="post" action="/console/memory/%s/forget" class="card">%s
                <label for="reason">Reason (kept in the audit log)</label><input id="reason" name="reason" required maxlength="200">
                <div><input id="confirm" name="confirm" type="checkbox" value="yes" required>
                <label for="confirm">I understand that the text and its embeddings are erased for good</label></div>
                <button type="submit">Forget</button>
                </form>""".formatted(memory.id(), Layout.csrfField(session));
        Layout.render(ctx, "Memory " + memory.id(), Optional.of(session), """
                %s
                <p>Scope <strong>%s</strong>, created %s, updated %s.</p>
                <table id="revisions"><caption>Revisions</caption><thead><tr><th scope="col">#</th><th scope="col">Text</th>
                <th scope="col">Provenance</th><th scope="col">Created</th><th scope="col">By</th></tr></thead><tbody>%s</tbody></table>
                %s
                """.formatted(notice, Html.text(memory.scope().key()), Html.text(memory.createdAt()), Html.text(memory.updatedAt()), rows, forget));
    }

    void forget(Context ctx, Session session) {
        Caller caller = caller(ctx, session);
        UUID id = id(ctx);
        String reason = Optional.ofNullable(ctx.formParam("reason")).orElse("").trim();
        if (!"yes".equals(ctx.formParam("confirm")) || reason.isEmpty()) {
            memoryPage(ctx, session, memories.memory(caller, id),
                    "<p class=\"error\" role=\"alert\">Tick the confirmation and give a reason to forget this memory.</p>");
            return;
        }
        memories.delete(caller, id, reason);
        ctx.redirect("/console/memory/" + id, HttpStatus.SEE_OTHER);
    }

    private Caller caller(Context ctx, Session session) {
        Principal principal = tenants.authenticateSession(session.keyId().orElseThrow());
        return new Caller(principal.tenant().id(), principal.keyId(), principal.actor(), principal.agentRestriction(), Edge.requestId(ctx));
    }

    private static UUID id(Context ctx) {
        return Ids.parseUuid(ctx.pathParam("id"), "memory id");
    }

    private static Scope scope(String text) {
        if (text.isEmpty()) {
            return Scope.tenant();
        }
        int colon = text.indexOf(':');
        if (colon < 0) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A scope is kind:id, such as agent:ops or user:ada");
        }
        return Scope.of(text.substring(0, colon), text.substring(colon + 1));
    }

    private static String provenance(Provenance provenance) {
        return provenance.kind().name().toLowerCase(Locale.ROOT) + provenance.reference().map(reference -> " " + reference).orElse("")
                + provenance.author().map(author -> " by " + author).orElse("");
    }
}
