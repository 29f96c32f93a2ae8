package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Principal;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.StorableText;
import io.somastack.marketplace.CapsuleVersion;
import io.somastack.marketplace.CatalogEntry;
import io.somastack.marketplace.CatalogQuery;
import io.somastack.marketplace.Installed;
import io.somastack.marketplace.Marketplace;
import io.somastack.marketplace.Ranking;
import io.somastack.policy.Actor;
import io.somastack.policy.BundleReader;
import io.somastack.policy.PolicyTenant;
import io.somastack.policy.Sbom;
import io.somastack.policy.TrustedKey;
import io.somastack.policy.TrustedKeys;
import io.somastack.policy.Violation;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The tenant's Marketplace pages: search the catalog (text, with tag and license facets taken
 * from the results), a capsule's page (versions, signatures with signer names, the SBOM's
 * components and licences, price SKU, the measured ranking and compliance badges), and install
 * through admission. They call the same {@link Marketplace} services as {@code /v1/capsules}.
 */
public final class MarketplacePages {
    private final Marketplace marketplace;
    private final TrustedKeys trustedKeys;
    private final BundleReader bundles;
    private final Tenants tenants;

    public MarketplacePages(Marketplace marketplace, TrustedKeys trustedKeys, BundleReader bundles, Tenants tenants) {
        this.marketplace = requireNonNull(marketplace, "marketplace is null");
        this.trustedKeys = requireNonNull(trustedKeys, "trustedKeys is null");
        this.bundles = requireNonNull(bundles, "bundles is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
    }

    /** The search's parameters as {@code GET /v1/capsules} reads them; a bad one is a 400 before sign-in. */
    static CatalogQuery query(Context ctx) {
        return CatalogQuery.parse(blankToNull(ctx.queryParam("q")), null, blankToNull(ctx.queryParam("tag")),
                blankToNull(ctx.queryParam("license")), null, null, null, null, null);
    }

    void search(Context ctx, Session session) {
        CatalogQuery query = query(ctx);
        List<CatalogEntry> found = marketplace.catalog().search(query);
        StringBuilder rows = new StringBuilder();
        Set<String> tags = new TreeSet<>();
        Set<String> licenses = new TreeSet<>();
        for (CatalogEntry entry : found) {
            tags.addAll(entry.tags());
            entry.license().ifPresent(licenses::add);
            rows.append("<tr><th scope=\"row\"><a href=\"/console/marketplace/%s\">%s</a></th><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n"
                    .formatted(Html.text(Html.url(entry.name())), Html.text(entry.name()), Html.text(entry.publisher()),
                            Html.text(entry.latestVersion().orElse("")), Html.text(entry.description()), Html.text(String.join(", ", entry.tags())),
                            Html.text(entry.license().orElse("")), Html.text(entry.priceSku().orElse("free"))));
        }
        String results = found.isEmpty() ? "<p id=\"no-capsules\">No capsule matches.</p>" : """
                <table id="capsules"><caption>Capsules</caption><thead><tr><th scope="col">Name</th><th scope="col">Publisher</th>
                <th scope="col">Version</th><th scope="col">Description</th><th scope="col">Tags</th><th scope="col">License</th>
                <th scope="col">Price SKU</th></tr></thead><tbody>%s</tbody></table>""".formatted(rows);
        String text = query.text().orElse("");
        Layout.render(ctx, "Marketplace", Optional.of(session), """
                <form method="get" action="/console/marketplace" class="filters">
                <label for="q">Search</label><input id="q" name="q" value="%s" maxlength="200">
                <label for="tag">Tag</label><input id="tag" name="tag" value="%s" maxlength="200">
                <label for="license">License</label><input id="license" name="license" value="%s" maxlength="200">
                <button type="submit">Search</button>
                </form>
                <nav aria-label="Facets" id="facets">%s%s</nav>
                %s
                """.formatted(Html.text(text), Html.text(query.tag().orElse("")), Html.text(query.license().orElse("")),
                facet("tag", "Tags", tags, text), facet("license", "Licenses", licenses, text), results));
    }

    private static String facet(String parameter, String title, Set<String> values, String text) {
        if (values.isEmpty()) {
            return "";
        }
        String links = values.stream().map(value -> "<li><a href=\"/console/marketplace?%s%s=%s\">%s</a></li>".formatted(
                text.isEmpty() ? "" : "q=" + Html.text(Html.url(text)) + "&amp;", parameter, Html.text(Html.url(value)), Html.text(value)))
                .collect(Collectors.joining());
        return "<h2>%s</h2><ul class=\"facet\" id=\"facet-%s\">%s</ul>".formatted(Html.text(title), parameter, links);
    }

    void capsule(Context ctx, Session session) {
        capsulePage(ctx, session, "");
    }

    private void capsulePage(Context ctx, Session session, String notice) {
        String name = name(ctx);
        CatalogEntry entry = marketplace.catalog().find(name)
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No capsule named '%s'".formatted(name)));
        List<CapsuleVersion> versions = marketplace.catalog().versions(name);
        Set<String> trusted = trustedKeys.list(session.tenant().orElseThrow()).stream().filter(key -> key.revokedAt().isEmpty())
                .map(TrustedKey::keyId).collect(Collectors.toSet());
        CapsuleVersion shown = versions.stream().filter(version -> entry.latestVersion().map(version.version()::equals).orElse(false)).findFirst()
                .orElse(versions.isEmpty() ? null : versions.getLast());
        StringBuilder versionRows = new StringBuilder();
        for (CapsuleVersion version : versions) {
            versionRows.append("<tr><th scope=\"row\">%s</th><td>%s</td><td><code>%s</code></td><td>%s</td></tr>\n".formatted(Html.text(version.version()),
                    Html.text(version.publishedAt()), Html.text(version.digest()),
                    Html.text(version.revocation().map(revocation -> "revoked: " + revocation.reason()).orElse("installable"))));
        }
        String details = shown == null ? "" : version(shown, trusted, admission(ctx, session, shown));
        Optional<Installed> installed = marketplace.installs().find(session.tenant().orElseThrow(), name);
        String install = installed.map(done -> "<p id=\"installed\">Installed at version %s (decision %s).</p>".formatted(
                Html.text(done.version()), Html.text(done.decisionId())) + entry.latestVersion().filter(latest -> !latest.equals(done.version()))
                .map(latest -> """
                        <form method="post" action="/console/marketplace/%s/update" class="card">%s
                        <p>Updating runs this tenant's admission policies on the new version's bundle.</p>
                        <button type="submit">Update to %s</button>
                        </form>""".formatted(Html.text(Html.url(name)), Layout.csrfField(session), Html.text(latest))).orElse("")).orElse("""
                <form method="post" action="/console/marketplace/%s/install" class="card">%s
                <p>Installing runs this tenant's admission policies on the bundle.</p>
                <button type="submit">Install %s</button>
                </form>""".formatted(Html.text(Html.url(name)), Layout.csrfField(session), Html.text(entry.latestVersion().orElse(""))));
        Ranking ranking = entry.ranking();
        Layout.render(ctx, "Capsule " + name, Optional.of(session), """
                %s
                <p id="description">%s</p>
                <p>Publisher <strong>%s</strong>; tags %s; license %s; price SKU <strong id="price-sku">%s</strong>.</p>
                <table id="ranking"><caption>Ranking (measured over the ranking window)</caption><thead><tr><th scope="col">Runs</th>
                <th scope="col">Successes</th><th scope="col">Success lower bound</th><th scope="col">p50 ms</th><th scope="col">p95 ms</th>
                <th scope="col">Cost per run</th></tr></thead><tbody><tr><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr></tbody></table>
                %s
                %s
                <table id="versions"><caption>Versions</caption><thead><tr><th scope="col">Version</th><th scope="col">Published</th>
                <th scope="col">Digest</th><th scope="col">State</th></tr></thead><tbody>%s</tbody></table>
                """.formatted(notice, Html.text(entry.description()), Html.text(entry.publisher()), Html.text(String.join(", ", entry.tags())),
                Html.text(entry.license().orElse("none")), Html.text(entry.priceSku().orElse("free")), ranking.runs(), ranking.successes(),
                figure(ranking.successLowerBound(), "%.4f"), figure(ranking.p50Ms(), "%.1f"), figure(ranking.p95Ms(), "%.1f"),
                Html.text(ranking.costPerRun().map(cost -> cost.toPlainString()).orElse("no runs yet")), install, details, versionRows));
    }

    /**
     * The "admitted by this tenant's policies" badge: a dry run of admission on {@code version}
     * ({@link io.somastack.marketplace.Installs#wouldAdmit}), which records no decision; a denial
     * names the policy and its message.
     */
    private String admission(Context ctx, Session session, CapsuleVersion version) {
        if (version.revoked()) {
            return badge("admitted", false, "", "Not admitted: revoked");
        }
        Principal principal = tenants.authenticateSession(session.keyId().orElseThrow());
        Optional<Violation> violation;
        try {
            violation = marketplace.installs().wouldAdmit(new PolicyTenant(principal.tenant().id(), principal.tenant().tier()), version.name(),
                    Optional.of(version.version()), new Actor(principal.actor(), Edge.requestId(ctx)));
        } catch (SomaException e) {
            return badge("admitted", false, "", "Not admitted: " + e.detail());
        }
        return violation.map(denied -> badge("admitted", false, "", "Denied by this tenant's policy %s: %s".formatted(denied.policyName(),
                denied.message()))).orElse(badge("admitted", true, "Admitted by this tenant's policies", ""));
    }

    /** The badges, signatures and SBOM of one version; the SBOM is read again from the stored bundle, so "verified" is now. */
    private String version(CapsuleVersion version, Set<String> trusted, String admitted) {
        boolean signed = version.signatures().stream().anyMatch(signature -> "publisher".equals(signature.role()));
        boolean signerTrusted = version.signatures().stream().anyMatch(signature -> "publisher".equals(signature.role())
                && trusted.contains(signature.keyId()));
        Optional<Sbom> sbom;
        try {
            sbom = Optional.of(bundles.read(marketplace.catalog().bundle(version.packedSha256())).sbom());
        } catch (SomaException e) {
            sbom = Optional.empty();
        }
        StringBuilder signatures = new StringBuilder();
        for (CapsuleVersion.PublishedSignature signature : version.signatures()) {
            signatures.append("<tr><th scope=\"row\">%s</th><td>%s</td><td>%s</td><td>%s</td></tr>\n".formatted(Html.text(signature.keyName()),
                    Html.text(signature.role()), Html.text(signature.keyId()), trusted.contains(signature.keyId()) ? "yes" : "no"));
        }
        StringBuilder components = new StringBuilder();
        sbom.ifPresent(read -> read.components().forEach(component -> components.append("<tr><th scope=\"row\">%s</th><td>%s</td><td>%s</td></tr>\n"
                .formatted(Html.text(component.name()), Html.text(component.version().orElse("")), Html.text(String.join(", ", component.licenses()))))));
        return """
                <h2>Version %s</h2>
                <ul class="badges" id="badges">%s%s%s%s%s</ul>
                <table id="signatures"><caption>Signatures</caption><thead><tr><th scope="col">Signer</th><th scope="col">Role</th>
                <th scope="col">Key id</th><th scope="col">Trusted by this tenant</th></tr></thead><tbody>%s</tbody></table>
                <table id="sbom"><caption>SBOM components (licenses: %s)</caption><thead><tr><th scope="col">Component</th>
                <th scope="col">Version</th><th scope="col">Licenses</th></tr></thead><tbody>%s</tbody></table>
                """.formatted(Html.text(version.version()), badge("signed", signed, "Signed", "Unsigned"),
                badge("trusted", signerTrusted, "Signer trusted by this tenant", "Signer not trusted by this tenant"),
                badge("sbom", sbom.isPresent(), "SBOM verified", "SBOM not verified"),
                badge("revoked", !version.revoked(), "Not revoked", "Revoked"), admitted, signatures, Html.text(String.join(", ", version.licenses())),
                components);
    }

    private static String badge(String id, boolean good, String yes, String no) {
        return "<li id=\"badge-%s\" class=\"badge %s\">%s</li>".formatted(id, good ? "good" : "bad", Html.text(good ? yes : no));
    }

    private static String figure(Optional<Double> value, String format) {
        return value.map(number -> String.format(Locale.ROOT, format, number)).orElse("no runs yet");
    }

    void install(Context ctx, Session session) {
        change(ctx, session, (tenant, name, actor) -> marketplace.installs().install(tenant, name, Optional.empty(), actor));
    }

    /** Moves the install to the catalog's latest version, through admission like an install. */
    void update(Context ctx, Session session) {
        change(ctx, session, (tenant, name, actor) -> marketplace.installs().update(tenant, name, Optional.empty(), actor));
    }

    /** An install or update of the latest version. */
    @FunctionalInterface
    private interface Change {
        void apply(PolicyTenant tenant, String name, Actor actor);
    }

    /** Applies {@code change}, then shows the capsule page, or on it the admission denial (policy, message, decision id). */
    private void change(Context ctx, Session session, Change change) {
        Principal principal = tenants.authenticateSession(session.keyId().orElseThrow());
        principal.requireScope("capsules:write");
        String name = name(ctx);
        try {
            change.apply(new PolicyTenant(principal.tenant().id(), principal.tenant().tier()), name, new Actor(principal.actor(), Edge.requestId(ctx)));
        } catch (SomaException e) {
            if (e.code() != ErrorCode.ADMISSION_DENIED) {
                throw e;
            }
            // The page answers 200 like the other forms' outcomes (a policy compile error, say): the denial is its content.
            capsulePage(ctx, session, """
                    <div class="error" role="alert" id="denied"><p>Admission denied by policy <strong id="denied-policy">%s</strong>.</p>
                    <p id="denied-message">%s</p><p>Decision <code id="denied-decision">%s</code></p></div>""".formatted(
                    Html.text(e.extensions().get("policy")), Html.text(e.detail()), Html.text(e.extensions().get("decision_id"))));
            return;
        }
        ctx.redirect("/console/marketplace/" + Html.url(name), HttpStatus.SEE_OTHER);
    }

    /** The capsule name of the path, refused (400) when it holds text that cannot be queried, as {@code /v1/capsules/{name}} does. */
    private static String name(Context ctx) {
        return StorableText.require("name", ctx.pathParam("name"));
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
