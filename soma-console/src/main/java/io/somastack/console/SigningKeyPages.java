package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.somastack.agents.Agents;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.Sessions;
import io.somastack.gateway.SigningKeyInfo;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The operator's Signing keys page: the server's two sets of ES256 keys, the session-token keys
 * ({@link Sessions}, published at {@code /.well-known/jwks.json}) and the answer-provenance keys
 * (soma-agents, at {@code /v1/provenance/jwks.json}), each key's kid, algorithm, creation and
 * state; and rotation of either set by a CSRF-protected form, the same calls as {@code POST
 * /v1/admin/signing-keys/rotate} and {@link Agents#rotateProvenanceKey}. Only
 * {@link SigningKeyInfo} reaches the page: private halves are never read for it.
 */
public final class SigningKeyPages {
    private final Sessions sessions;
    private final Agents agents;

    public SigningKeyPages(Sessions sessions, Agents agents) {
        this.sessions = requireNonNull(sessions, "sessions is null");
        this.agents = requireNonNull(agents, "agents is null");
    }

    void keys(Context ctx, Session session) {
        Layout.render(ctx, "Signing keys", Optional.of(session), """
                <h2>Session tokens</h2>
                <p class="hint">Sign the short-lived tokens of <code>POST /v1/sessions</code>; published at <code>/.well-known/jwks.json</code>.
                A retired key verifies until its last token expires.</p>
                %s
                %s
                <h2>Answer provenance</h2>
                <p class="hint">Sign completed runs' provenance; every key, retired ones included, stays published at
                <code>/v1/provenance/jwks.json</code>, so old records still verify.</p>
                %s
                %s
                """.formatted(table("session-keys", "Session token signing keys", sessions.keyInfos(), Optional.of(sessions.lifetime())), rotate(session, "sessions", "session token"),
                table("provenance-keys", "Provenance signing keys", agents.provenanceKeyInfos(), Optional.empty()), rotate(session, "provenance", "provenance")));
    }

    void rotate(Context ctx, Session session) {
        switch (Optional.ofNullable(ctx.formParam("set")).orElse("")) {
            case "sessions" -> sessions.rotate();
            case "provenance" -> agents.rotateProvenanceKey();
            default -> throw new SomaException(ErrorCode.INVALID_REQUEST, "set must be sessions or provenance");
        }
        ctx.redirect("/console/signing-keys", HttpStatus.SEE_OTHER);
    }

    /** The keys of one set; {@code verifiesFor}, when retired keys stop verifying, is how long after retirement. */
    private static String table(String id, String caption, List<SigningKeyInfo> keys, Optional<Duration> verifiesFor) {
        StringBuilder rows = new StringBuilder();
        for (SigningKeyInfo key : keys) {
            rows.append("<tr><th scope=\"row\"><code>%s</code></th><td>%s</td><td>%s</td><td>%s</td></tr>\n".formatted(Html.text(key.kid()),
                    Html.text(key.algorithm()), Html.text(key.createdAt()),
                    Html.text(key.retiredAt().map(at -> "retired " + at + verifiesFor.map(grace -> ", verifies until " + at.plus(grace)).orElse(""))
                            .orElse("active"))));
        }
        return """
                <table id="%s"><caption>%s</caption><thead><tr><th scope="col">Key id</th><th scope="col">Algorithm</th>
                <th scope="col">Created</th><th scope="col">State</th></tr></thead><tbody>%s</tbody></table>""".formatted(id, Html.text(caption), rows);
    }

    private static String rotate(Session session, String set, String what) {
        return """
                <form method="post" action="/console/signing-keys/rotate">%s<input type="hidden" name="set" value="%s">
                <button type="submit" id="rotate-%s">Rotate the %s key</button></form>""".formatted(Layout.csrfField(session), set, set, what);
    }
}
