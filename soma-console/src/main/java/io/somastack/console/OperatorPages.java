package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.AdminRoutes;
import io.somastack.gateway.ApiKey;
import io.somastack.gateway.Edge;
import io.somastack.gateway.GatewayConfig;
import io.somastack.gateway.Tenant;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The operator's pages: tenants (create with tier, budget and region), a tenant's keys (create,
 * with the secret shown once on the answer page and never again; revoke), and health with the
 * audit chain's verification. Writes go through the gateway's {@link Tenants} in the group
 * commit, audited as the operator, with the same validation as {@code /v1/admin}.
 */
public final class OperatorPages {
    private static final Pattern KEY_NAME = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$");

    private final Tenants tenants;
    private final GatewayConfig gateway;
    private final GroupCommit commit;
    private final Database database;
    private final AuditLog auditLog;
    private final CreatedKeys createdKeys;

    public OperatorPages(Tenants tenants, GatewayConfig gateway, GroupCommit commit, Database database, AuditLog auditLog, Clock clock) {
        this.tenants = requireNonNull(tenants, "tenants is null");
        this.gateway = requireNonNull(gateway, "gateway is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.database = requireNonNull(database, "database is null");
        this.auditLog = requireNonNull(auditLog, "auditLog is null");
        this.createdKeys = new CreatedKeys(database.jdbi(), clock);
    }

    void tenants(Context ctx, Session session) {
        tenantsPage(ctx, session, Optional.empty());
    }

    private void tenantsPage(Context ctx, Session session, Optional<String> error) {
        StringBuilder rows = new StringBuilder();
        for (Tenant tenant : tenants.list()) {
            rows.append("<tr><th scope=\"row\"><a href=\"/console/tenants/%s\">%s</a></th><td>%s</td><td>%s</td><td>%s</td></tr>\n".formatted(
                    tenant.id().value(), Html.text(tenant.name()), Html.text(tenant.tier()), Html.text(tenant.homeRegion()),
                    Html.text(tenant.monthlyBudget().map(budget -> budget.toPlainString() + " USD").orElse("none"))));
        }
        StringBuilder tiers = new StringBuilder();
        new java.util.TreeSet<>(gateway.rateLimits().tiers().keySet()).forEach(tier ->
                tiers.append("<option%s>%s</option>".formatted(tier.equals("standard") ? " selected" : "", Html.text(tier))));
        StringBuilder regions = new StringBuilder();
        new java.util.TreeSet<>(gateway.knownRegions()).forEach(region ->
                regions.append("<option%s>%s</option>".formatted(region.equals(gateway.region()) ? " selected" : "", Html.text(region))));
        Layout.render(ctx, "Tenants", Optional.of(session), """
                %s
                <table id="tenants"><caption>Tenants</caption><thead><tr><th scope="col">Name</th><th scope="col">Tier</th>
                <th scope="col">Region</th><th scope="col">Monthly budget</th></tr></thead><tbody>%s</tbody></table>
                <h2>New tenant</h2>
                <form method="post" action="/console/tenants" class="card">%s
                <label for="name">Name</label><input id="name" name="name" required maxlength="100">
                <label for="tier">Tier</label><select id="tier" name="tier">%s</select>
                <label for="region">Home region</label><select id="region" name="region">%s</select>
                <label for="budget">Monthly budget (USD, empty for none)</label><input id="budget" name="budget" inputmode="decimal">
                <button type="submit">Create tenant</button>
                </form>
                """.formatted(error(error), rows, Layout.csrfField(session), tiers, regions));
    }

    void createTenant(Context ctx, Session session) {
        try {
            BigDecimal budget = decimal(ctx.formParam("budget"));
            AdminRoutes.NewTenant valid = AdminRoutes.validate(gateway, new AdminRoutes.CreateTenant(
                    ctx.formParam("name"), ctx.formParam("tier"), ctx.formParam("region"), budget));
            Tenant tenant = commit.execute(tx -> tenants.create(tx, valid.name(), valid.tier(), valid.region(), valid.monthlyBudget(),
                    "operator", Edge.requestId(ctx)));
            ctx.redirect("/console/tenants/" + tenant.id().value(), HttpStatus.SEE_OTHER);
        } catch (SomaException e) {
            // The form again, with the reason, as a page (200), like the sign-in form.
            tenantsPage(ctx, session, Optional.of(e.getMessage()));
        }
    }

    void tenant(Context ctx, Session session) {
        tenantPage(ctx, session, tenant(ctx.pathParam("id")), "");
    }

    private void tenantPage(Context ctx, Session session, Tenant tenant, String notice) {
        StringBuilder rows = new StringBuilder();
        for (ApiKey key : tenants.keys(tenant.id())) {
            String action = key.revokedAt().isPresent() ? "revoked " + Html.text(key.revokedAt().get())
                    : """
                    <form method="post" action="/console/keys/%s/revoke">%s<button type="submit" aria-label="Revoke key %s">Revoke</button></form>"""
                    .formatted(key.id(), Layout.csrfField(session), Html.text(key.name()));
            rows.append("<tr><th scope=\"row\">%s</th><td><code>%s…</code></td><td>%s</td><td>%s</td></tr>\n".formatted(Html.text(key.name()),
                    Html.text(key.prefix()), Html.text(String.join(" ", new java.util.TreeSet<>(key.scopes()))), action));
        }
        Layout.render(ctx, "Tenant " + tenant.name(), Optional.of(session), """
                %s
                <p>Tier <strong>%s</strong>, region <strong>%s</strong>, monthly budget <strong>%s</strong>, id <code>%s</code>.</p>
                <table id="keys"><caption>API keys</caption><thead><tr><th scope="col">Name</th><th scope="col">Prefix</th>
                <th scope="col">Scopes</th><th scope="col">State</th></tr></thead><tbody>%s</tbody></table>
                <h2>New key</h2>
                <form method="post" action="/console/tenants/%s/keys" class="card">%s
                <label for="key-name">Name</label><input id="key-name" name="name" required maxlength="100">
                <button type="submit">Create key</button>
                </form>
                """.formatted(notice, Html.text(tenant.tier()), Html.text(tenant.homeRegion()),
                Html.text(tenant.monthlyBudget().map(budget -> budget.toPlainString() + " USD").orElse("none")), tenant.id().value(),
                rows, tenant.id().value(), Layout.csrfField(session)));
    }

    void createKey(Context ctx, Session session) {
        Tenant tenant = tenant(ctx.pathParam("id"));
        String name = Optional.ofNullable(ctx.formParam("name")).orElse("").trim();
        if (!KEY_NAME.matcher(name).matches()) {
            tenantPage(ctx, session, tenant, error(Optional.of("The key's name must be 1-100 letters, digits, spaces, '.', '_' or '-'")));
            return;
        }
        Tenants.CreatedKey created = commit.execute(tx -> tenants.createKey(tx, tenant.id(), name, Set.of("*"), Optional.empty(),
                "operator", Edge.requestId(ctx)));
        // POST, redirect, GET: reloading the answer never creates a second key.
        ctx.redirect("/console/created-keys/" + createdKeys.hold(session, tenant.id(), name, created.secret()), HttpStatus.SEE_OTHER);
    }

    /** The page a key's creation redirects to: the one place a secret is rendered, the first time only. */
    void createdKey(Context ctx, Session session) {
        CreatedKeys.Shown shown = createdKeys.show(session, ctx.pathParam("nonce"))
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No key created by this session under that link"));
        Tenant tenant = tenant(shown.tenant().value().toString());
        tenantPage(ctx, session, tenant, shown.secret().map(secret -> """
                <div class="notice" role="status"><p>Key <strong>%s</strong> created. Copy it now: it is not shown again.</p>
                <p><code id="new-key">%s</code></p></div>""".formatted(Html.text(shown.name()), Html.text(secret))).orElse("""
                <div class="notice" role="status" id="key-already-shown"><p>Key <strong>%s</strong> was already shown (or its %d minutes                 passed): it is never shown again. Revoke it and create another if it was not copied.</p></div>"""
                .formatted(Html.text(shown.name()), CreatedKeys.TTL.toMinutes())));
    }

    void revokeKey(Context ctx, Session session) {
        UUID keyId = Ids.parseUuid(ctx.pathParam("id"), "key id");
        ApiKey key = commit.execute(tx -> tenants.revokeKey(tx, keyId, "operator", Edge.requestId(ctx)));
        ctx.redirect("/console/tenants/" + key.tenantId().value(), HttpStatus.SEE_OTHER);
    }

    void health(Context ctx, Session session) {
        healthPage(ctx, session, "");
    }

    void verifyAudit(Context ctx, Session session) {
        AuditLog.Verification verification = auditLog.verify(database.jdbi());
        healthPage(ctx, session, """
                <div class="notice" role="status" id="audit-result"><p><strong>%s</strong>: %d entries checked%s. %s</p></div>"""
                .formatted(verification.intact() ? "Audit chain intact" : "Audit chain BROKEN", verification.checked(),
                        verification.firstBad().map(seq -> ", first bad entry " + seq).orElse(""), Html.text(verification.message())));
    }

    /** The audit search's tenant filter; a bad one is a 400 naming it. */
    static Optional<UUID> auditTenant(Context ctx) {
        return Optional.ofNullable(ctx.queryParam("tenant")).filter(text -> !text.isBlank()).map(text -> Ids.parseUuid(text.trim(), "tenant id"));
    }

    void audit(Context ctx, Session session) {
        Optional<UUID> tenant = auditTenant(ctx);
        Optional<String> text = Optional.ofNullable(ctx.queryParam("text")).map(String::trim).filter(value -> !value.isEmpty());
        StringBuilder rows = new StringBuilder();
        for (AuditLog.Entry entry : auditLog.search(database.jdbi(), tenant, text, 100)) {
            rows.append("<tr><th scope=\"row\">%d</th><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n".formatted(
                    entry.seq(), Html.text(entry.at()), Html.text(entry.tenant().map(UUID::toString).orElse("")), Html.text(entry.actor()),
                    Html.text(entry.action()), Html.text(entry.subject()), Html.text(entry.requestId())));
        }
        Layout.render(ctx, "Audit log", Optional.of(session), """
                <form method="get" action="/console/audit" class="filters">
                <label for="tenant">Tenant id</label><input id="tenant" name="tenant" value="%s">
                <label for="text">Action or subject contains</label><input id="text" name="text" value="%s">
                <button type="submit">Search</button>
                </form>
                <table id="audit"><caption>Newest 100 matching entries</caption><thead><tr><th scope="col">#</th><th scope="col">At</th>
                <th scope="col">Tenant</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Subject</th>
                <th scope="col">Request</th></tr></thead><tbody>%s</tbody></table>
                <form method="post" action="/console/audit/verify">%s<button type="submit">Verify the audit chain</button></form>
                """.formatted(Html.text(tenant.map(UUID::toString).orElse("")), Html.text(text.orElse("")), rows, Layout.csrfField(session)));
    }

    private void healthPage(Context ctx, Session session, String result) {
        Layout.render(ctx, "Health", Optional.of(session), """
                <dl class="figures">
                <div><dt>Database</dt><dd id="database">%s</dd></div>
                <div><dt>Region</dt><dd>%s</dd></div>
                <div><dt>Tenants</dt><dd>%d</dd></div>
                </dl>
                <h2>Audit log</h2>
                <p><a href="/console/audit">Search the audit log</a></p>
                %s
                <form method="post" action="/console/audit/verify">%s<button type="submit">Verify the audit chain</button></form>
                """.formatted(database.isReady() ? "ready" : "not answering", Html.text(gateway.region()), tenants.list().size(), result,
                Layout.csrfField(session)));
    }

    private Tenant tenant(String id) {
        TenantId tenantId;
        try {
            tenantId = TenantId.parse(id);
        } catch (RuntimeException e) {
            throw new SomaException(ErrorCode.NOT_FOUND, "No tenant %s".formatted(id));
        }
        return tenants.find(tenantId).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No tenant %s".formatted(id)));
    }

    private static BigDecimal decimal(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return new BigDecimal(text.trim());
        } catch (NumberFormatException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The monthly budget must be a number such as 100.00");
        }
    }

    private static String error(Optional<String> message) {
        return message.map(text -> "<p class=\"error\" role=\"alert\">" + Html.text(text) + "</p>").orElse("");
    }
}
