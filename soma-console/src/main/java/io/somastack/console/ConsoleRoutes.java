package io.somastack.console;

import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.somastack.agents.AgentRoutes;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.OperatorKeys;
import io.somastack.gateway.Principal;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.metering.InvoiceRoutes;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * The console's routes: sign-in and sign-out, its static files, and the pages, each behind
 * {@link #signedIn}. Sign-in takes a tenant API key (with scope {@code usage:read}) or the
 * operator key; the session is a cookie (HttpOnly, SameSite=Strict, Secure over TLS) and every
 * form carries the session's CSRF token (the sign-in form a token of its own cookie).
 */
public final class ConsoleRoutes implements EndpointGroup {
    static final String COOKIE = "soma_console";
    private static final String SIGN_IN_COOKIE = "soma_console_sign_in";
    private static final String WEBJAR = "META-INF/resources/webjars/";
    /** The files the pages load, with their media types; nothing else is served. */
    private static final Map<String, String> ASSETS = Map.of(
            "console.css", "console/console.css",
            "overview.js", "console/overview.js",
            "run.js", "console/run.js",
            "uPlot.min.css", WEBJAR + "uplot/1.6.30/dist/uPlot.min.css",
            "uPlot.iife.min.js", WEBJAR + "uplot/1.6.30/dist/uPlot.iife.min.js");

    private final ConsoleSessions sessions;
    private final Tenants tenants;
    private final OperatorKeys operatorKeys;
    private final UsagePages usage;
    private final TrafficPages traffic;
    private final OperatorPages operator;
    private final PolicyPages policies;
    private final MemoryPages memory;
    private final MarketplacePages marketplace;
    private final AgentPages agents;
    private final InvoicePages invoices;
    private final SigningKeyPages signingKeys;

    public ConsoleRoutes(ConsoleSessions sessions, Tenants tenants, OperatorKeys operatorKeys, UsagePages usage, TrafficPages traffic,
            OperatorPages operator, PolicyPages policies, MemoryPages memory, MarketplacePages marketplace, AgentPages agents,
            InvoicePages invoices, SigningKeyPages signingKeys) {
        this.sessions = requireNonNull(sessions, "sessions is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
        this.operatorKeys = requireNonNull(operatorKeys, "operatorKeys is null");
        this.usage = requireNonNull(usage, "usage is null");
        this.traffic = requireNonNull(traffic, "traffic is null");
        this.operator = requireNonNull(operator, "operator is null");
        this.policies = requireNonNull(policies, "policies is null");
        this.memory = requireNonNull(memory, "memory is null");
        this.marketplace = requireNonNull(marketplace, "marketplace is null");
        this.agents = requireNonNull(agents, "agents is null");
        this.invoices = requireNonNull(invoices, "invoices is null");
        this.signingKeys = requireNonNull(signingKeys, "signingKeys is null");
    }

    @Override
    public void addEndpoints() {
        get("/console", this::home);
        get("/console/sign-in", ctx -> signInPage(ctx, Optional.empty()));
        post("/console/sign-in", this::signIn);
        post("/console/sign-out", this::signOut);
        get("/console/assets/{file}", this::asset);
        get("/console/overview", ctx -> tenantPage(ctx, usage::overview));
        // Filters are checked first, so a bad one is a 400 even before sign-in.
        get("/console/usage", ctx -> {
            usage.validate(ctx);
            tenantPage(ctx, usage::usage);
        });
        get("/console/usage.csv", ctx -> {
            usage.validate(ctx);
            tenantPage(ctx, usage::csv);
        });
        get("/console/policies", ctx -> tenantPage(ctx, scoped("policy:read", policies::policies)));
        post("/console/policies", ctx -> tenantForm(ctx, scoped("policy:write", policies::save)));
        post("/console/policies/evaluate", ctx -> tenantForm(ctx, scoped("policy:read", policies::evaluate)));
        get("/console/memory", ctx -> tenantPage(ctx, scoped("memory:read", memory::recall)));
        get("/console/memory/{id}", ctx -> tenantPage(ctx, scoped("memory:read", memory::memory)));
        post("/console/memory/{id}/forget", ctx -> tenantForm(ctx, scoped("memory:write", memory::forget)));
        get("/console/marketplace", ctx -> {
            MarketplacePages.query(ctx);
            tenantPage(ctx, scoped("capsules:read", marketplace::search));
        });
        get("/console/marketplace/{name}", ctx -> tenantPage(ctx, scoped("capsules:read", marketplace::capsule)));
        post("/console/marketplace/{name}/install", ctx -> tenantForm(ctx, scoped("capsules:write", marketplace::install)));
        post("/console/marketplace/{name}/update", ctx -> tenantForm(ctx, scoped("capsules:write", marketplace::update)));
        get("/console/agents", ctx -> {
            AgentPages.runParameter(ctx);
            tenantPage(ctx, scoped("capsules:read", agents::agents));
        });
        get("/console/agents/{name}", ctx -> tenantPage(ctx, scoped("capsules:read", agents::agent)));
        post("/console/agents/{name}/runs", ctx -> tenantForm(ctx, scoped(AgentRoutes.SCOPE, agents::startRun)));
        get("/console/runs/{id}", ctx -> tenantPage(ctx, scoped(AgentRoutes.SCOPE, agents::run)));
        get("/console/runs/{id}/events", ctx -> {
            AgentPages.after(ctx);
            tenantPage(ctx, scoped(AgentRoutes.SCOPE, agents::events));
        });
        get("/console/invoices", ctx -> tenantPage(ctx, scoped(InvoiceRoutes.SCOPE, invoices::invoices)));
        // The fixed suffix first: Javalin answers with the first route that matches.
        get("/console/invoices/{id}.pdf", ctx -> tenantPage(ctx, scoped(InvoiceRoutes.SCOPE, invoices::pdf)));
        get("/console/invoices/{id}", ctx -> tenantPage(ctx, scoped(InvoiceRoutes.SCOPE, invoices::invoice)));
        get("/console/tenants", ctx -> operatorPage(ctx, operator::tenants));
        post("/console/tenants", ctx -> operatorForm(ctx, operator::createTenant));
        get("/console/tenants/{id}", ctx -> operatorPage(ctx, operator::tenant));
        post("/console/tenants/{id}/keys", ctx -> operatorForm(ctx, operator::createKey));
        get("/console/created-keys/{nonce}", ctx -> operatorPage(ctx, operator::createdKey));
        post("/console/keys/{id}/revoke", ctx -> operatorForm(ctx, operator::revokeKey));
        get("/console/signing-keys", ctx -> operatorPage(ctx, signingKeys::keys));
        post("/console/signing-keys/rotate", ctx -> operatorForm(ctx, signingKeys::rotate));
        get("/console/health", ctx -> operatorPage(ctx, operator::health));
        get("/console/traffic", ctx -> {
            TrafficPages.tenantParameter(ctx);
            operatorPage(ctx, traffic::page);
        });
        get("/console/audit", ctx -> {
            OperatorPages.auditTenant(ctx);
            operatorPage(ctx, operator::audit);
        });
        post("/console/audit/verify", ctx -> operatorForm(ctx, operator::verifyAudit));
    }

    /** Signed in, the person's first page; else the sign-in form. */
    private void home(Context ctx) {
        Optional<Session> session = signedInSession(ctx);
        if (session.isPresent()) {
            ctx.redirect(home(session.get()), HttpStatus.SEE_OTHER);
        } else {
            signInPage(ctx, Optional.empty());
        }
    }

    private static String home(Session session) {
        return session.tenant().isPresent() ? "/console/overview" : "/console/tenants";
    }

    private void signInPage(Context ctx, Optional<String> error) {
        String token = sessions.randomToken();
        ctx.res().addHeader("Set-Cookie", cookie(ctx, SIGN_IN_COOKIE, token, 600));
        String message = error.map(text -> "<p class=\"error\" role=\"alert\">" + Html.text(text) + "</p>").orElse("");
        Layout.render(ctx, "Sign in", Optional.empty(), """
                %s
                <form method="post" action="/console/sign-in" class="card">
                <input type="hidden" name="csrf" value="%s">
                <label for="key">API key or operator key</label>
                <input id="key" name="key" type="password" autocomplete="off" required spellcheck="false">
                <button type="submit">Sign in</button>
                </form>
                <p class="hint">The key stays on the server: the browser keeps only a session cookie, which ends at sign-out.</p>
                """.formatted(message, Html.text(token)));
    }

    private void signIn(Context ctx) {
        if (!matches(ctx.cookie(SIGN_IN_COOKIE), ctx.formParam("csrf"))) {
            throw new SomaException(ErrorCode.CSRF_TOKEN_INVALID, "The sign-in form's token is missing or wrong: reload the sign-in page");
        }
        String key = Optional.ofNullable(ctx.formParam("key")).orElse("").trim();
        Session session;
        if (!key.isEmpty() && operatorKeys.matches(key)) {
            session = sessions.start(Optional.empty(), Optional.empty(), true);
        } else {
            Optional<Principal> principal = tenantKey(key);
            if (principal.isEmpty()) {
                signInPage(ctx, Optional.of("That key is not a valid API key with scope usage:read, nor the operator key."));
                return;
            }
            session = sessions.start(Optional.of(principal.get().tenant().id()), Optional.of(principal.get().keyId()), false);
        }
        ctx.res().addHeader("Set-Cookie", cookie(ctx, SIGN_IN_COOKIE, "", 0));
        ctx.res().addHeader("Set-Cookie", cookie(ctx, COOKIE, session.token(), -1));
        ctx.redirect(home(session), HttpStatus.SEE_OTHER);
    }

    private Optional<Principal> tenantKey(String key) {
        if (!key.startsWith("sk-soma-")) {
            return Optional.empty();
        }
        try {
            Principal principal = tenants.authenticate(key);
            principal.requireScope("usage:read");
            return Optional.of(principal);
        } catch (SomaException e) {
            return Optional.empty();
        }
    }

    private void signOut(Context ctx) {
        Optional<Session> session = signedInSession(ctx);
        session.ifPresent(signedIn -> requireCsrf(ctx, signedIn));
        session.ifPresent(signedIn -> sessions.end(signedIn.token()));
        ctx.res().addHeader("Set-Cookie", cookie(ctx, COOKIE, "", 0));
        ctx.redirect("/console/sign-in", HttpStatus.SEE_OTHER);
    }

    /** The live session of the request's cookie; a tenant session whose key was revoked has ended. */
    private Optional<Session> signedInSession(Context ctx) {
        Optional<Session> session = sessions.find(ctx.cookie(COOKIE));
        if (session.isPresent() && session.get().keyId().isPresent()) {
            try {
                tenants.authenticateSession(session.get().keyId().get());
            } catch (SomaException e) {
                sessions.end(session.get().token());
                return Optional.empty();
            }
        }
        return session;
    }

    private void tenantPage(Context ctx, BiConsumer<Context, Session> page) {
        Optional<Session> session = signedInSession(ctx);
        if (session.isEmpty()) {
            ctx.redirect("/console/sign-in", HttpStatus.SEE_OTHER);
        } else if (session.get().tenant().isEmpty()) {
            ctx.redirect(home(session.get()), HttpStatus.SEE_OTHER);
        } else {
            page.accept(ctx, session.get());
        }
    }

    /** A tenant page that needs its key's {@code scope}, as the JSON route does (403 {@code insufficient-scope} otherwise). */
    private BiConsumer<Context, Session> scoped(String scope, BiConsumer<Context, Session> page) {
        return (ctx, session) -> {
            tenants.authenticateSession(session.keyId().orElseThrow()).requireScope(scope);
            page.accept(ctx, session);
        };
    }

    private void tenantForm(Context ctx, BiConsumer<Context, Session> action) {
        Optional<Session> session = signedInSession(ctx);
        if (session.isEmpty()) {
            throw new SomaException(ErrorCode.MISSING_CREDENTIALS, "Sign in to the console first");
        }
        requireCsrf(ctx, session.get());
        tenantPage(ctx, action);
    }

    private void operatorPage(Context ctx, BiConsumer<Context, Session> page) {
        Optional<Session> session = signedInSession(ctx);
        if (session.isEmpty()) {
            ctx.redirect("/console/sign-in", HttpStatus.SEE_OTHER);
        } else if (!session.get().operator()) {
            throw new SomaException(ErrorCode.ADMIN_REQUIRED, "This page is for the operator: sign in with the operator key");
        } else {
            page.accept(ctx, session.get());
        }
    }

    private void operatorForm(Context ctx, BiConsumer<Context, Session> action) {
        Optional<Session> session = signedInSession(ctx);
        if (session.isEmpty()) {
            throw new SomaException(ErrorCode.MISSING_CREDENTIALS, "Sign in to the console first");
        }
        requireCsrf(ctx, session.get());
        operatorPage(ctx, action);
    }

    private static void requireCsrf(Context ctx, Session session) {
        if (!matches(session.csrf(), ctx.formParam("csrf"))) {
            throw new SomaException(ErrorCode.CSRF_TOKEN_INVALID, "The form's CSRF token is missing or wrong: reload the page and try again");
        }
    }

    private static boolean matches(String expected, String actual) {
        return expected != null && actual != null && !expected.isEmpty()
                && MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), actual.getBytes(StandardCharsets.UTF_8));
    }

    /** A cookie for the console's paths; {@code maxAge} -1 lasts the browser session, 0 deletes it. */
    private static String cookie(Context ctx, String name, String value, int maxAge) {
        boolean tls = "https".equalsIgnoreCase(ctx.scheme()) || "https".equalsIgnoreCase(ctx.header("X-Forwarded-Proto"));
        return name + "=" + value + "; Path=/console; HttpOnly; SameSite=Strict" + (maxAge >= 0 ? "; Max-Age=" + maxAge : "")
                + (tls ? "; Secure" : "");
    }

    private void asset(Context ctx) {
        String resource = ASSETS.get(ctx.pathParam("file"));
        InputStream in = resource == null ? null : ConsoleRoutes.class.getClassLoader().getResourceAsStream(resource);
        if (in == null) {
            throw new SomaException(ErrorCode.NOT_FOUND, "No file %s of the console".formatted(ctx.pathParam("file")));
        }
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Cache-Control", "public, max-age=3600");
        ctx.contentType(resource.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8").result(in);
    }
}
