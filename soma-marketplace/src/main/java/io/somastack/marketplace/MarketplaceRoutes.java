package io.somastack.marketplace;

import static io.javalin.apibuilder.ApiBuilder.delete;
import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.StorableText;
import io.somastack.policy.Actor;
import io.somastack.policy.PolicyTenant;
import io.somastack.policy.SignedBundle;
import io.somastack.policy.WireObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The marketplace API.
 * <ul>
 *   <li>{@code POST /v1/capsules/publish}: a packed bundle as {@code application/zip} with one
 *       {@code Capsule-Signature: <base64>[; key-id=<id>]} header per signature, or JSON
 *       {@code {bundle: base64, signatures: [{signature, key_id?}]}}; 201 (200 when the same bundle was there).</li>
 *   <li>{@code GET /v1/capsules?q=&publisher=&tag=&license=&price_sku=&free=&sort=&limit=&offset=}: search.</li>
 *   <li>{@code GET /v1/capsules/{name}}: the entry and every version;
 *       {@code GET /v1/capsules/{name}/versions/{version}/bundle}: the packed bundle with its signatures as headers.</li>
 *   <li>{@code POST /v1/capsules/{name}/install} and {@code .../update} ({@code {version?}}): admission runs.</li>
 *   <li>{@code POST /v1/capsules/{name}/versions/{version}/revoke} ({@code {reason}}): the publisher or the operator.</li>
 *   <li>{@code GET /v1/installed-capsules}, {@code GET|DELETE /v1/installed-capsules/{name}}.</li>
 *   <li>{@code GET /v1/marketplace/signing-key}: the public key that countersigns every published bundle.</li>
 * </ul>
 * Reads need {@code capsules:read}, writes {@code capsules:write}.
 */
public final class MarketplaceRoutes implements EndpointGroup {
    /** The route that takes {@code application/zip} uploads. */
    public static final String PUBLISH = "/v1/capsules/publish";
    public static final String SIGNATURE_HEADER = "Capsule-Signature";
    private static final Set<String> INSTALL_FIELDS = Set.of("version");
    private static final Set<String> REVOKE_FIELDS = Set.of("reason");

    private final Guard guard;
    private final Marketplace marketplace;

    public MarketplaceRoutes(Guard guard, Marketplace marketplace) {
        this.guard = requireNonNull(guard, "guard is null");
        this.marketplace = requireNonNull(marketplace, "marketplace is null");
    }

    @Override
    public void addEndpoints() {
        post(PUBLISH, this::publish);
        get("/v1/capsules", this::search);
        get("/v1/capsules/{name}", this::show);
        get("/v1/capsules/{name}/versions/{version}/bundle", this::download);
        post("/v1/capsules/{name}/versions/{version}/revoke", this::revoke);
        post("/v1/capsules/{name}/install", this::install);
        post("/v1/capsules/{name}/update", this::update);
        get("/v1/marketplace/signing-key", this::signingKey);
        get("/v1/installed-capsules", this::installed);
        get("/v1/installed-capsules/{name}", this::installedOne);
        delete("/v1/installed-capsules/{name}", this::uninstall);
    }

    private void publish(Context ctx) {
        Principal principal = writer(ctx);
        SignedBundle signed = isZip(ctx) ? new SignedBundle(ctx.bodyAsBytes(), signatureHeaders(ctx)) : SignedBundle.fromJson(Json.tree(ctx.bodyAsBytes()));
        Catalog.Published published = marketplace.catalog().publish(tenant(principal), signed, actor(ctx, principal));
        ctx.status(published.created() ? 201 : 200).json(version(published.version()));
    }

    private void search(Context ctx) {
        guard.tenant(ctx, "capsules:read");
        CatalogQuery query = CatalogQuery.parse(ctx.queryParam("q"), ctx.queryParam("publisher"), ctx.queryParam("tag"), ctx.queryParam("license"),
                ctx.queryParam("price_sku"), ctx.queryParam("free"), ctx.queryParam("sort"), ctx.queryParam("limit"), ctx.queryParam("offset"));
        ctx.json(Map.of("data", marketplace.catalog().search(query).stream().map(MarketplaceRoutes::entry).toList()));
    }

    private void show(Context ctx) {
        guard.tenant(ctx, "capsules:read");
        String name = pathParam(ctx, "name");
        CatalogEntry entry = marketplace.catalog().find(name)
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No capsule named '%s'".formatted(name)));
        Map<String, Object> body = entry(entry);
        body.put("versions", marketplace.catalog().versions(name).stream().map(MarketplaceRoutes::version).toList());
        ctx.json(body);
    }

    private void download(Context ctx) {
        guard.tenant(ctx, "capsules:read");
        CapsuleVersion version = findVersion(ctx);
        for (CapsuleVersion.PublishedSignature signature : version.signatures()) {
            ctx.res().addHeader(SIGNATURE_HEADER, signature.signature() + "; key-id=" + signature.keyId());
        }
        ctx.header("Capsule-Digest", version.digest());
        ctx.header("Content-Disposition", "attachment; filename=\"%s-%s.capsule\"".formatted(version.name(), version.version()));
        ctx.contentType("application/zip").result(marketplace.catalog().bundle(version.packedSha256()));
    }

    private void revoke(Context ctx) {
        Catalog.Revoker revoker;
        Actor actor;
        if (guard.isOperator(ctx)) {
            revoker = new Catalog.Revoker.Operator();
            actor = new Actor("operator", Edge.requestId(ctx));
        } else {
            Principal principal = writer(ctx);
            revoker = new Catalog.Revoker.Publisher(principal.tenant().id());
            actor = actor(ctx, principal);
        }
        WireObject body = WireObject.body(ctx.bodyAsBytes(), REVOKE_FIELDS);
        CapsuleVersion revoked = marketplace.catalog().revoke(pathParam(ctx, "name"), pathParam(ctx, "version"),
                body.optionalText("reason").orElse(null), revoker, actor);
        ctx.json(version(revoked));
    }

    private void install(Context ctx) {
        Principal principal = writer(ctx);
        Installs.Change change = marketplace.installs().install(tenant(principal), pathParam(ctx, "name"), requestedVersion(ctx), actor(ctx, principal));
        ctx.status(change.changed() ? 201 : 200).json(installed(change.installed()));
    }

    private void update(Context ctx) {
        Principal principal = writer(ctx);
        Installs.Change change = marketplace.installs().update(tenant(principal), pathParam(ctx, "name"), requestedVersion(ctx), actor(ctx, principal));
        ctx.json(installed(change.installed()));
    }

    private void signingKey(Context ctx) {
        guard.tenant(ctx, "capsules:read");
        CounterSigner signer = marketplace.catalog().counterSigner();
        ctx.json(Map.of("name", CounterSigner.NAME, "role", "marketplace", "key_id", signer.keyId(), "public_key_pem", signer.publicKeyPem()));
    }

    private void installed(Context ctx) {
        Principal principal = guard.tenant(ctx, "capsules:read");
        ctx.json(Map.of("data", marketplace.installs().list(principal.tenant().id()).stream().map(MarketplaceRoutes::installed).toList()));
    }

    private void installedOne(Context ctx) {
        Principal principal = guard.tenant(ctx, "capsules:read");
        String name = pathParam(ctx, "name");
        ctx.json(installed(marketplace.installs().find(principal.tenant().id(), name)
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "%s is not installed in this tenant".formatted(name)))));
    }

    private void uninstall(Context ctx) {
        Principal principal = writer(ctx);
        String name = pathParam(ctx, "name");
        if (!marketplace.installs().uninstall(principal.tenant().id(), name, actor(ctx, principal))) {
            throw new SomaException(ErrorCode.NOT_FOUND, "%s is not installed in this tenant".formatted(name));
        }
        ctx.status(204);
    }

    private CapsuleVersion findVersion(Context ctx) {
        String name = pathParam(ctx, "name");
        String version = pathParam(ctx, "version");
        return marketplace.catalog().version(name, version)
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No version %s of capsule '%s'".formatted(version, name)));
    }

    private static Optional<String> requestedVersion(Context ctx) {
        return WireObject.body(ctx.bodyAsBytes(), INSTALL_FIELDS).optionalText("version");
    }

    /** A path parameter, refused (400 naming it) when it holds text that cannot be stored or queried. */
    private static String pathParam(Context ctx, String name) {
        return StorableText.require(name, ctx.pathParam(name));
    }

    private static boolean isZip(Context ctx) {
        String type = ctx.contentType();
        return type != null && type.toLowerCase(Locale.ROOT).startsWith("application/zip");
    }

    /** {@code Capsule-Signature: <base64>[; key-id=<id>]}, one header (or comma-separated value) per signature. */
    static List<SignedBundle.BundleSignature> signatureHeaders(Context ctx) {
        List<SignedBundle.BundleSignature> signatures = new ArrayList<>();
        for (String header : Collections.list(ctx.req().getHeaders(SIGNATURE_HEADER))) {
            for (String value : header.split(",")) {
                String[] parts = value.trim().split(";");
                Optional<String> keyId = Optional.empty();
                for (int i = 1; i < parts.length; i++) {
                    String parameter = parts[i].trim();
                    if (!parameter.startsWith("key-id=")) {
                        throw new SomaException(ErrorCode.INVALID_REQUEST, "%s takes '<base64>[; key-id=<id>]', not '%s'"
                                .formatted(SIGNATURE_HEADER, StorableText.printable(value.trim())));
                    }
                    keyId = Optional.of(StorableText.require(SIGNATURE_HEADER + " key-id", parameter.substring("key-id=".length())));
                }
                if (parts[0].isBlank()) {
                    throw new SomaException(ErrorCode.INVALID_REQUEST, "An empty %s header".formatted(SIGNATURE_HEADER));
                }
                signatures.add(new SignedBundle.BundleSignature(StorableText.require(SIGNATURE_HEADER, parts[0].trim()), keyId));
            }
        }
        return signatures;
    }

    private Principal writer(Context ctx) {
        Principal principal = guard.tenant(ctx, "capsules:write");
        Edge.markAudited(ctx);
        return principal;
    }

    private static Actor actor(Context ctx, Principal principal) {
        return new Actor(principal.actor(), Edge.requestId(ctx));
    }

    private static PolicyTenant tenant(Principal principal) {
        return new PolicyTenant(principal.tenant().id(), principal.tenant().tier());
    }

    static Map<String, Object> entry(CatalogEntry entry) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("name", entry.name());
        map.put("publisher", entry.publisher());
        map.put("latest_version", entry.latestVersion().orElse(null));
        map.put("description", entry.description());
        map.put("tags", entry.tags());
        map.put("license", entry.license().orElse(null));
        map.put("price_sku", entry.priceSku().orElse(null));
        map.put("updated_at", entry.updatedAt().toString());
        Ranking ranking = entry.ranking();
        Map<String, Object> rank = new LinkedHashMap<>();
        rank.put("runs", ranking.runs());
        rank.put("successes", ranking.successes());
        rank.put("success_lower_bound", ranking.successLowerBound().orElse(null));
        rank.put("p50_ms", ranking.p50Ms().orElse(null));
        rank.put("p95_ms", ranking.p95Ms().orElse(null));
        rank.put("cost_per_run", ranking.costPerRun().map(cost -> cost.toPlainString()).orElse(null));
        rank.put("computed_at", ranking.computedAt().map(Object::toString).orElse(null));
        map.put("ranking", rank);
        entry.relevance().ifPresent(relevance -> map.put("relevance", relevance));
        return map;
    }

    static Map<String, Object> version(CapsuleVersion version) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("name", version.name());
        map.put("version", version.version());
        map.put("digest", version.digest());
        map.put("packed_sha256", version.packedSha256());
        map.put("size", version.size());
        map.put("licenses", version.licenses());
        map.put("signatures", version.signatures().stream().map(signature -> Map.of("signature", signature.signature(), "key_id", signature.keyId(),
                "key_name", signature.keyName(), "role", signature.role(), "public_key_pem", signature.publicKeyPem())).toList());
        map.put("published_at", version.publishedAt().toString());
        map.put("published_by", version.publishedBy());
        map.put("revoked", version.revoked());
        version.revocation().ifPresent(revocation -> map.put("revocation", Map.of("at", revocation.at().toString(), "by", revocation.by(),
                "reason", revocation.reason())));
        map.put("manifest", version.manifest());
        return map;
    }

    static Map<String, Object> installed(Installed installed) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("name", installed.name());
        map.put("version", installed.version());
        map.put("digest", installed.digest());
        map.put("decision_id", installed.decisionId().toString());
        map.put("installed_at", installed.installedAt().toString());
        map.put("installed_by", installed.installedBy());
        map.put("updated_at", installed.updatedAt().toString());
        map.put("runnable", !installed.revoked());
        installed.revocation().ifPresent(revocation -> map.put("revocation", Map.of("at", revocation.at().toString(), "reason", revocation.reason())));
        return map;
    }
}
