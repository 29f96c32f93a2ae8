package io.somastack.console;

import io.javalin.http.Context;
import io.somastack.console.ConsoleSessions.Session;
import java.util.Optional;

/**
 * The frame of every page: the security headers (a strict Content-Security-Policy: scripts and
 * styles only from files of this server, nothing inline), the navigation for the signed-in
 * person, and the sign-out form with its CSRF token.
 */
final class Layout {
    /** Scripts and style sheets only from this origin's files; no inline code, no frames, forms post only here. */
    static final String POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private Layout() {
    }

    static void secure(Context ctx) {
        ctx.header("Content-Security-Policy", POLICY);
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "no-referrer");
        ctx.header("Cache-Control", "no-store");
    }

    /** Renders a page: {@code body} is HTML whose values the caller escaped. */
    static void render(Context ctx, String title, Optional<Session> session, String body, String... scripts) {
        secure(ctx);
        StringBuilder page = new StringBuilder(4096 + body.length());
        page.append("""
                <!DOCTYPE html>
                <html lang="en">
                <head>
                <meta charset="utf-8">
                <meta name="viewport" content="width=device-width, initial-scale=1">
                <title>%s · SomaStack console</title>
                <link rel="icon" href="data:,">
                <link rel="stylesheet" href="/console/assets/uPlot.min.css">
                <link rel="stylesheet" href="/console/assets/console.css">
                </head>
                <body>
                <header class="top">
                <a class="brand" href="/console">SomaStack console</a>
                """.formatted(Html.text(title)));
        session.ifPresent(signedIn -> page.append(navigation(signedIn)));
        page.append("</header>\n<main id=\"main\">\n<h1>").append(Html.text(title)).append("</h1>\n").append(body).append("\n</main>\n");
        for (String script : scripts) {
            page.append("<script src=\"/console/assets/").append(Html.text(script)).append("\"></script>\n");
        }
        page.append("</body>\n</html>\n");
        ctx.contentType("text/html; charset=utf-8").result(page.toString());
    }

    private static String navigation(Session session) {
        StringBuilder links = new StringBuilder();
        if (session.tenant().isPresent()) {
            links.append("<li><a href=\"/console/overview\">Overview</a></li><li><a href=\"/console/usage\">Usage</a></li>"
                    + "<li><a href=\"/console/policies\">Policies</a></li><li><a href=\"/console/memory\">Memory</a></li>"
                    + "<li><a href=\"/console/marketplace\">Marketplace</a></li><li><a href=\"/console/agents\">Agents</a></li>"
                    + "<li><a href=\"/console/invoices\">Invoices</a></li>");
        }
        if (session.operator()) {
            links.append("<li><a href=\"/console/tenants\">Tenants</a></li><li><a href=\"/console/health\">Health</a></li>"
                    + "<li><a href=\"/console/audit\">Audit</a></li><li><a href=\"/console/signing-keys\">Signing keys</a></li>");
            links.append("<li><a href=\"/console/traffic\">Traffic</a></li>");
        }
        return """
                <nav aria-label="Main"><ul>%s</ul></nav>
                <form class="sign-out" method="post" action="/console/sign-out">%s<button type="submit">Sign out</button></form>
                """.formatted(links, csrfField(session));
    }

    /** The hidden CSRF field every form of a session carries. */
    static String csrfField(Session session) {
        return "<input type=\"hidden\" name=\"csrf\" value=\"" + Html.text(session.csrf()) + "\">";
    }
}
