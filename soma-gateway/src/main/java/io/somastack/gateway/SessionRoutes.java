package io.somastack.gateway;

import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code POST /v1/sessions} (API key → ES256 session token), the JWKS that verifies them, and
 * the operator's signing-key rotation.
 */
public final class SessionRoutes implements EndpointGroup {
    private final Guard guard;
    private final Sessions sessions;
    private final GatewayConfig config;

    public SessionRoutes(Guard guard, Sessions sessions, GatewayConfig config) {
        this.guard = requireNonNull(guard, "guard is null");
        this.sessions = requireNonNull(sessions, "sessions is null");
        this.config = requireNonNull(config, "config is null");
    }

    @Override
    public void addEndpoints() {
        post("/v1/sessions", this::create);
        get("/.well-known/jwks.json", ctx -> ctx.header("Cache-Control", "max-age=60").json(sessions.jwks()));
        post("/v1/admin/signing-keys/rotate", this::rotate);
    }

    /** Operator: a new signing key signs from now on; the old one verifies until its tokens expire. */
    private void rotate(Context ctx) {
        guard.operator(ctx);
        String kid = sessions.rotate();
        ctx.json(Map.of("active_kid", kid, "previous_keys_verify_for_seconds", sessions.lifetime().toSeconds()));
    }

    private void create(Context ctx) {
        Principal principal = guard.apiKey(ctx);
        Sessions.Issued issued = sessions.issue(principal, principal.tenant().homeRegion());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("token", issued.token());
        body.put("token_type", "Bearer");
        body.put("expires_at", issued.expiresAt().toString());
        body.put("expires_in", sessions.lifetime().toSeconds());
        body.put("tenant_id", principal.tenant().id().toString());
        body.put("region", principal.tenant().homeRegion());
        ctx.status(201).json(body);
    }
}
