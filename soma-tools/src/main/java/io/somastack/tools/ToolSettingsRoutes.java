package io.somastack.tools;

import static io.javalin.apibuilder.ApiBuilder.delete;
import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.put;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Principal;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Tool secrets and tool settings over HTTP. Credentials decide what a tenant's installed
 * capsules send to the hosts they reach, which is the authority to install capsules: writes
 * need {@code capsules:write}, reads (names and times only, never a value) {@code capsules:read}.
 * <ul>
 *   <li>{@code PUT /v1/tool-secrets/{name}} {@code {"value": "..."}}: 201 created, 200 replaced;</li>
 *   <li>{@code DELETE /v1/tool-secrets/{name}}: 204, 404 when absent;</li>
 *   <li>{@code GET /v1/tool-secrets}: {@code {"data": [{name, created_at, updated_at}]}};</li>
 *   <li>{@code GET|PUT /v1/tools/{capsule}/{tool}/settings}
 *       {@code {"headers": {"Authorization": {"secret": "api-token"}}}}.</li>
 * </ul>
 */
public final class ToolSettingsRoutes implements EndpointGroup {
    private final Guard guard;
    private final ToolSecrets secrets;
    private final ToolSettings settings;

    public ToolSettingsRoutes(Guard guard, ToolSecrets secrets, ToolSettings settings) {
        this.guard = requireNonNull(guard, "guard is null");
        this.secrets = requireNonNull(secrets, "secrets is null");
        this.settings = requireNonNull(settings, "settings is null");
    }

    @Override
    public void addEndpoints() {
        get("/v1/tool-secrets", this::listSecrets);
        put("/v1/tool-secrets/{name}", this::putSecret);
        delete("/v1/tool-secrets/{name}", this::deleteSecret);
        get("/v1/tools/{capsule}/{tool}/settings", this::getSettings);
        put("/v1/tools/{capsule}/{tool}/settings", this::putSettings);
    }

    private void listSecrets(Context ctx) {
        Principal principal = guard.tenant(ctx, "capsules:read");
        ctx.json(Map.of("data", secrets.list(principal.tenant().id()).stream().map(ToolSettingsRoutes::secret).toList()));
    }

    private void putSecret(Context ctx) {
        Principal principal = guard.tenant(ctx, "capsules:write");
        String name = ctx.pathParam("name");
        ToolSecrets.requireName(name);
        JsonNode body = ctx.bodyAsBytes().length == 0 ? null : Json.tree(ctx.bodyAsBytes());
        if (body == null || !body.isObject() || body.size() != 1 || !body.has("value") || !body.get("value").isString()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The body is {\"value\": \"<the secret>\"} and nothing else");
        }
        ToolSecrets.Put put = secrets.put(principal.tenant().id(), name, body.get("value").asString());
        ctx.status(put.created() ? 201 : 200).json(secret(put.info()));
    }

    private void deleteSecret(Context ctx) {
        Principal principal = guard.tenant(ctx, "capsules:write");
        String name = ctx.pathParam("name");
        if (!secrets.delete(principal.tenant().id(), name)) {
            throw new SomaException(ErrorCode.NOT_FOUND, "This tenant has no tool secret '%s'".formatted(name));
        }
        ctx.status(204);
    }

    private void getSettings(Context ctx) {
        Principal principal = guard.tenant(ctx, "capsules:read");
        ctx.json(view(settings.get(principal.tenant().id(), ctx.pathParam("capsule"), ctx.pathParam("tool"))));
    }

    private void putSettings(Context ctx) {
        Principal principal = guard.tenant(ctx, "capsules:write");
        JsonNode body = ctx.bodyAsBytes().length == 0 ? null : Json.tree(ctx.bodyAsBytes());
        ctx.json(view(settings.put(principal.tenant().id(), ctx.pathParam("capsule"), ctx.pathParam("tool"), body)));
    }

    private static Map<String, Object> secret(ToolSecrets.Info info) {
        return Map.of("name", info.name(), "created_at", info.createdAt().toString(), "updated_at", info.updatedAt().toString());
    }

    private static Map<String, Object> view(ToolSettings.Stored stored) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("capsule", stored.capsule());
        view.put("tool", stored.tool());
        view.put("headers", new java.util.TreeMap<>(stored.settings().headers()));
        stored.updatedAt().ifPresent(at -> view.put("updated_at", at.toString()));
        return view;
    }
}
