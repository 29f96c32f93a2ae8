package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.Map;
import java.util.function.BiConsumer;
import org.slf4j.MDC;

/**
 * Authenticates a request and admits it: a Bearer API key or session token, the tenant's
 * home region, the rate limits, and a scope. Routes call it first thing, so what a route
 * requires is visible in the route.
 */
public final class Guard {
    private final Tenants tenants;
    private final Sessions sessions;
    private final OperatorKeys operatorKeys;
    private final RateLimiter rateLimiter;
    private final GatewayConfig config;
    private final MeterRegistry meters;

    public Guard(Tenants tenants, Sessions sessions, OperatorKeys operatorKeys, RateLimiter rateLimiter, GatewayConfig config,
            MeterRegistry meters) {
        this.tenants = requireNonNull(tenants, "tenants is null");
        this.sessions = requireNonNull(sessions, "sessions is null");
        this.operatorKeys = requireNonNull(operatorKeys, "operatorKeys is null");
        this.rateLimiter = requireNonNull(rateLimiter, "rateLimiter is null");
        this.config = requireNonNull(config, "config is null");
        this.meters = requireNonNull(meters, "meters is null");
    }

    /** The tenant caller, admitted by region and rate limits and holding {@code scope}. */
    public Principal tenant(Context ctx, String scope) {
        Principal principal = authenticate(bearer(ctx.header("Authorization")));
        ctx.attribute(Edge.PRINCIPAL_ATTRIBUTE, principal);
        return admitTenant(principal, scope, ctx::header);
    }

    /**
     * As {@link #tenant(Context, String)}, for a request served outside Javalin's routes (the
     * {@code /mcp} servlet): {@code authorization} is the request's {@code Authorization} header
     * (may be null), and {@code headers} receives the {@code RateLimit-*} response headers.
     */
    public Principal tenant(String authorization, String scope, BiConsumer<String, String> headers) {
        return admitTenant(authenticate(bearer(authorization)), scope, headers);
    }

    private Principal admitTenant(Principal principal, String scope, BiConsumer<String, String> headers) {
        MDC.put("tenant_id", principal.tenant().id().toString());
        String home = principal.tenant().homeRegion();
        if (!home.equals(config.region())) {
            String endpoint = config.regionEndpoints().getOrDefault(home, "unknown");
            throw new SomaException(ErrorCode.WRONG_REGION, "Tenant %s is homed in region '%s'; this node serves '%s'; use %s"
                    .formatted(principal.tenant().name(), home, config.region(), endpoint), Map.of("region", home, "endpoint", endpoint));
        }
        principal.requireScope(scope);
        admit(principal, headers);
        return principal;
    }

    /** Takes the request's rate-limit tokens and sets the {@code RateLimit-*} headers. */
    private void admit(Principal principal, BiConsumer<String, String> headers) {
        RateLimiter.Decision decision;
        try {
            decision = rateLimiter.admit(principal);
        } catch (SomaException e) {
            meters.counter("soma.ratelimit.rejections", "tenant", principal.tenant().id().toString()).increment();
            throw e;
        }
        if (decision != RateLimiter.Decision.UNLIMITED) {
            headers.accept("RateLimit-Limit", Long.toString(decision.limit()));
            headers.accept("RateLimit-Remaining", Long.toString(decision.remaining()));
            headers.accept("RateLimit-Reset", Long.toString(decision.resetSeconds()));
        }
    }

    /** An API key only (no session token): for exchanging a key for a session. */
    public Principal apiKey(Context ctx) {
        String token = bearer(ctx.header("Authorization"));
        if (!token.startsWith("sk-soma-")) {
            throw new SomaException(ErrorCode.INVALID_API_KEY, "A session is created from an API key, not from another token");
        }
        Principal principal = tenants.authenticate(token);
        ctx.attribute(Edge.PRINCIPAL_ATTRIBUTE, principal);
        principal.requireScope("sessions:create");
        // Minting a session is a request like any other: a tenant at its limit mints none.
        admit(principal, ctx::header);
        return principal;
    }

    /** Requires the operator key. */
    public void operator(Context ctx) {
        String token = bearer(ctx.header("Authorization"));
        if (!operatorKeys.matches(token)) {
            throw new SomaException(ErrorCode.ADMIN_REQUIRED, "This route needs the operator key (SOMA_ADMIN_KEY)");
        }
    }

    /**
     * Admits a metrics scrape: the operator key or {@code metrics.token}. Per-tenant usage is
     * in the metrics, so they are never public.
     */
    public void metrics(Context ctx) {
        String token = bearer(ctx.header("Authorization"));
        boolean metricsToken = config.metricsToken().map(expected -> java.security.MessageDigest.isEqual(
                expected.getBytes(java.nio.charset.StandardCharsets.UTF_8), token.getBytes(java.nio.charset.StandardCharsets.UTF_8))).orElse(false);
        if (!metricsToken && !operatorKeys.matches(token)) {
            throw new SomaException(ErrorCode.ADMIN_REQUIRED, "/metrics needs the metrics token (SOMA_METRICS_TOKEN) or the operator key as a Bearer token");
        }
    }

    /** Whether the caller presents the operator key (no exception either way). */
    public boolean isOperator(Context ctx) {
        String header = ctx.header("Authorization");
        return header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) && header.length() > 7
                && operatorKeys.matches(header.substring(7).trim());
    }

    private Principal authenticate(String token) {
        if (token.startsWith("sk-soma-")) {
            return tenants.authenticate(token);
        }
        return tenants.authenticateSession(sessions.verify(token));
    }

    private static String bearer(String header) {
        if (header == null || header.isBlank()) {
            throw new SomaException(ErrorCode.MISSING_CREDENTIALS, "Send an API key or session token as 'Authorization: Bearer <token>'");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7) || header.length() <= 7) {
            throw new SomaException(ErrorCode.MISSING_CREDENTIALS, "The Authorization header must use the Bearer scheme");
        }
        return header.substring(7).trim();
    }
}
