package io.somastack.policy;

import static io.javalin.apibuilder.ApiBuilder.delete;
import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static io.javalin.apibuilder.ApiBuilder.put;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.policy.internal.PolicyWire;
import io.somastack.policy.internal.RouteWire;
import io.somastack.policy.internal.StorableText;
import java.util.Map;

/**
 * The constitution API. Policies: {@code POST /v1/policies}, {@code GET /v1/policies},
 * {@code GET|PUT|DELETE /v1/policies/{name}} ({@code ?version=} on GET), and
 * {@code POST /v1/policies/evaluate} (try a policy on an input; nothing recorded).
 * Trusted keys: {@code POST|GET /v1/policy/trusted-keys}, {@code DELETE /v1/policy/trusted-keys/{keyId}}.
 * Admission of a bundle: {@code POST /v1/policy/admissions} ({@code {bundle: base64, signatures: [{signature, key_id?}]}}).
 * Decisions: {@code GET /v1/decisions?capsule=&outcome=&from=&to=&limit=}. Reads need
 * {@code policy:read}, writes {@code policy:write}, admissions {@code capsules:write}.
 * Bodies are read strictly ({@link io.somastack.policy.internal.WireObject}): an unknown
 * field, a value of the wrong type, or text with a NUL or a lone surrogate (in a body, a path
 * or a query parameter) is a 400 naming the field.
 */
public final class PolicyRoutes implements EndpointGroup {
    private final Guard guard;
    private final Constitution constitution;

    public PolicyRoutes(Guard guard, Constitution constitution) {
        this.guard = requireNonNull(guard, "guard is null");
        this.constitution = requireNonNull(constitution, "constitution is null");
    }

    @Override
    public void addEndpoints() {
        post("/v1/policies/evaluate", this::evaluate);
        post("/v1/policies", this::create);
        get("/v1/policies", this::list);
        get("/v1/policies/{name}", this::show);
        put("/v1/policies/{name}", this::update);
        delete("/v1/policies/{name}", this::deletePolicy);
        post("/v1/policy/trusted-keys", this::trustKey);
        get("/v1/policy/trusted-keys", this::listKeys);
        delete("/v1/policy/trusted-keys/{keyId}", this::revokeKey);
        post("/v1/policy/admissions", this::admit);
        get("/v1/decisions", this::decisions);
    }

    private void create(Context ctx) {
        Principal principal = writer(ctx, "policy:write");
        StoredPolicy policy = constitution.policies().create(principal.tenant().id(), PolicyWire.definition(Json.tree(ctx.bodyAsBytes())), actor(ctx, principal));
        ctx.status(201).json(PolicyWire.policy(policy));
    }

    private void update(Context ctx) {
        Principal principal = writer(ctx, "policy:write");
        String name = pathParam(ctx, "name");
        PolicyDefinition definition = PolicyWire.definition(Json.tree(ctx.bodyAsBytes()));
        if (!definition.name().equals(name)) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The body names policy %s but the path names %s".formatted(definition.name(), name));
        }
        ctx.json(PolicyWire.policy(constitution.policies().update(principal.tenant().id(), definition, actor(ctx, principal))));
    }

    private void deletePolicy(Context ctx) {
        Principal principal = writer(ctx, "policy:write");
        constitution.policies().delete(principal.tenant().id(), pathParam(ctx, "name"), actor(ctx, principal));
        ctx.status(204);
    }

    private void list(Context ctx) {
        Principal principal = guard.tenant(ctx, "policy:read");
        ctx.json(Map.of("data", constitution.policies().list(principal.tenant().id()).stream().map(PolicyWire::policy).toList()));
    }

    private void show(Context ctx) {
        Principal principal = guard.tenant(ctx, "policy:read");
        String name = pathParam(ctx, "name");
        String version = ctx.queryParam("version");
        var policy = version == null ? constitution.policies().get(principal.tenant().id(), name)
                : constitution.policies().get(principal.tenant().id(), name, RouteWire.integer(version, "version"));
        ctx.json(PolicyWire.policy(policy.orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND,
                "No policy %s%s".formatted(name, version == null ? "" : " version " + version)))));
    }

    private void evaluate(Context ctx) {
        Principal principal = guard.tenant(ctx, "policy:read");
        RouteWire.TrialRequest request = RouteWire.trialRequest(Json.tree(ctx.bodyAsBytes()));
        PolicyEngine.Trial trial = constitution.engine().evaluate(tenant(principal), request.policy(), request.input());
        ctx.json(RouteWire.trial(trial));
    }

    private void trustKey(Context ctx) {
        Principal principal = writer(ctx, "policy:write");
        RouteWire.KeyToTrust request = RouteWire.keyToTrust(Json.tree(ctx.bodyAsBytes()));
        TrustedKey key = constitution.trustedKeys().add(principal.tenant().id(), request.name(), request.role(), request.publicKeyPem(),
                actor(ctx, principal));
        ctx.status(201).json(RouteWire.key(key));
    }

    private void listKeys(Context ctx) {
        Principal principal = guard.tenant(ctx, "policy:read");
        ctx.json(Map.of("data", constitution.trustedKeys().list(principal.tenant().id()).stream().map(RouteWire::key).toList()));
    }

    private void revokeKey(Context ctx) {
        Principal principal = writer(ctx, "policy:write");
        ctx.json(RouteWire.key(constitution.trustedKeys().revoke(principal.tenant().id(), pathParam(ctx, "keyId"), actor(ctx, principal))));
    }

    private void admit(Context ctx) {
        Principal principal = writer(ctx, "capsules:write");
        SignedBundle bundle = RouteWire.signedBundle(Json.tree(ctx.bodyAsBytes()));
        ctx.json(RouteWire.admission(constitution.engine().admit(tenant(principal), bundle, actor(ctx, principal))));
    }

    private void decisions(Context ctx) {
        Principal principal = guard.tenant(ctx, "policy:read");
        DecisionQuery query = RouteWire.decisionQuery(ctx.queryParam("capsule"), ctx.queryParam("outcome"), ctx.queryParam("from"),
                ctx.queryParam("to"), ctx.queryParam("limit"));
        ctx.json(Map.of("data", constitution.decisions().find(principal.tenant().id(), query).stream().map(Decisions::facts).toList()));
    }

    /** A path parameter, refused (400 naming it) when it holds text that cannot be stored or queried. */
    private static String pathParam(Context ctx, String name) {
        return StorableText.check(ctx.pathParam(name), name);
    }

    /** Authorizes a write and marks the request audited: the write audits itself in its transaction. */
    private Principal writer(Context ctx, String scope) {
        Principal principal = guard.tenant(ctx, scope);
        Edge.markAudited(ctx);
        return principal;
    }

    private static Actor actor(Context ctx, Principal principal) {
        return new Actor(principal.actor(), Edge.requestId(ctx));
    }

    private static PolicyTenant tenant(Principal principal) {
        return new PolicyTenant(principal.tenant().id(), principal.tenant().tier());
    }
}
