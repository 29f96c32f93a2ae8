package io.somastack.gateway;

import static io.javalin.apibuilder.ApiBuilder.delete;
import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditCheckpoint;
import io.somastack.store.AuditCheckpoints;
import io.somastack.store.AuditLog;
import io.somastack.store.GroupCommit;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;

/** The operator API: tenants, keys, the audit log check and its signed checkpoints. Every route needs the operator key. */
public final class AdminRoutes implements EndpointGroup {
    private static final Pattern NAME = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$");

    private final Guard guard;
    private final Tenants tenants;
    private final GroupCommit commit;
    private final AuditLog auditLog;
    private final AuditCheckpoints checkpoints;
    private final Jdbi jdbi;
    private final GatewayConfig config;
    private final Idempotency idempotency;

    public AdminRoutes(Guard guard, Tenants tenants, GroupCommit commit, AuditLog auditLog, AuditCheckpoints checkpoints, Jdbi jdbi,
            GatewayConfig config) {
        this.guard = requireNonNull(guard, "guard is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.auditLog = requireNonNull(auditLog, "auditLog is null");
        this.checkpoints = requireNonNull(checkpoints, "checkpoints is null");
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.config = requireNonNull(config, "config is null");
        this.idempotency = new Idempotency(jdbi);
    }

    @Override
    public void addEndpoints() {
        post("/v1/admin/tenants", this::createTenant);
        get("/v1/admin/tenants", this::listTenants);
        post("/v1/admin/tenants/{id}/keys", this::createKey);
        get("/v1/admin/tenants/{id}/keys", this::listKeys);
        delete("/v1/admin/keys/{id}", this::revokeKey);
        get("/v1/admin/audit/verify", this::verifyAudit);
        post("/v1/admin/audit/verify", this::verifyAuditAgainstCheckpoint);
        post("/v1/admin/audit/checkpoints", this::signCheckpoint);
        get("/v1/admin/audit/checkpoints/latest", this::latestCheckpoint);
    }

    private void createTenant(Context ctx) {
        guard.operator(ctx);
        CreateTenant request = Json.read(ctx.bodyAsBytes(), CreateTenant.class);
        NewTenant valid = validate(config, request);
        String tier = valid.tier();
        String region = valid.region();
        Optional<Money> budget = valid.monthlyBudget();
        Optional<Idempotency.Request> keyed = idempotency.of(ctx, Idempotency.OPERATOR);
        if (idempotency.replay(ctx, keyed)) {
            return;
        }
        byte[] answer = commit.execute(tx -> {
            byte[] body = Json.bytes(tenantView(tenants.create(tx, request.name(), tier, region, budget, "operator", Edge.requestId(ctx))));
            idempotency.remember(tx, keyed, 201, body);
            return body;
        });
        ctx.status(201).contentType("application/json").result(answer);
    }

    /** A tenant to create, validated. */
    public record NewTenant(String name, String tier, String region, Optional<Money> monthlyBudget) {
    }

    /**
     * Validates a tenant to create (name, known tier and region, budget), as {@code POST
     * /v1/admin/tenants} does: the console's form uses the same rules.
     */
    public static NewTenant validate(GatewayConfig config, CreateTenant request) {
        if (request.name() == null || !NAME.matcher(request.name()).matches()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "name is required: 1-100 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit");
        }
        String tier = Optional.ofNullable(request.tier()).orElse("standard");
        if (!config.rateLimits().tiers().containsKey(tier)) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "Unknown tier '%s'; known tiers: %s"
                    .formatted(tier, new TreeSet<>(config.rateLimits().tiers().keySet())));
        }
        String region = Optional.ofNullable(request.homeRegion()).orElse(config.region());
        if (!config.knownRegions().contains(region)) {
            throw new SomaException(ErrorCode.UNKNOWN_REGION, "Unknown region '%s'; this deployment knows %s (configure regions.<name> for another)"
                    .formatted(region, config.knownRegions()), Map.of("field", "home_region", "known_regions", List.copyOf(config.knownRegions())));
        }
        return new NewTenant(request.name(), tier, region, budget(request.monthlyBudget()));
    }

    private void listTenants(Context ctx) {
        guard.operator(ctx);
        ctx.json(Map.of("data", tenants.list().stream().map(AdminRoutes::tenantView).toList()));
    }

    private void createKey(Context ctx) {
        guard.operator(ctx);
        TenantId tenantId = TenantId.parse(ctx.pathParam("id"));
        CreateKey request = ctx.bodyAsBytes().length == 0 ? new CreateKey(null, null, null) : Json.read(ctx.bodyAsBytes(), CreateKey.class);
        List<String> requested = Optional.ofNullable(request.scopes()).orElse(List.of("*"));
        for (int i = 0; i < requested.size(); i++) {
            if (requested.get(i) == null) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "scopes[%d] must be a string, not null".formatted(i),
                        Map.of("field", "scopes[%d]".formatted(i)));
            }
        }
        Set<String> scopes = Set.copyOf(requested);
        if (scopes.isEmpty() || !scopes.stream().allMatch(ApiKey::isValidScope)) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "scopes must be a non-empty subset of %s, plus agent:<id> restrictions"
                    .formatted(new TreeSet<>(ApiKey.KNOWN_SCOPES)));
        }
        String name = Optional.ofNullable(request.name()).orElse("default");
        if (!NAME.matcher(name).matches()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "name must be 1-100 letters, digits, spaces, '.', '_' or '-'");
        }
        Optional<Money> budget = budget(request.monthlyBudget());
        Optional<Idempotency.Request> keyed = idempotency.of(ctx, Idempotency.OPERATOR);
        if (idempotency.replay(ctx, keyed)) {
            return;
        }
        // The secret is never stored, not even for a replay: a retry gets the key's metadata only.
        Tenants.CreatedKey created = commit.execute(tx -> {
            Tenants.CreatedKey made = tenants.createKey(tx, tenantId, name, scopes, budget, "operator", Edge.requestId(ctx));
            idempotency.remember(tx, keyed, 201, Json.bytes(keyView(made.key())));
            return made;
        });
        Map<String, Object> view = keyView(created.key());
        view.put("key", created.secret());
        ctx.status(201).json(view);
    }

    private void listKeys(Context ctx) {
        guard.operator(ctx);
        TenantId tenantId = TenantId.parse(ctx.pathParam("id"));
        ctx.json(Map.of("data", tenants.keys(tenantId).stream().map(AdminRoutes::keyView).toList()));
    }

    private void revokeKey(Context ctx) {
        guard.operator(ctx);
        var keyId = Ids.parseUuid(ctx.pathParam("id"), "key id");
        ApiKey key = commit.execute(tx -> tenants.revokeKey(tx, keyId, "operator", Edge.requestId(ctx)));
        // Committed: this node refuses the key from now on; other nodes hear it through NOTIFY.
        tenants.forgetKey(keyId);
        ctx.json(keyView(key));
    }

    private void verifyAudit(Context ctx) {
        guard.operator(ctx);
        ctx.json(verificationView(auditLog.verify(jdbi), Optional.empty()));
    }

    /** The chain must also still hold the checkpoint's entries: a truncated or rewritten tail is found. */
    private void verifyAuditAgainstCheckpoint(Context ctx) {
        guard.operator(ctx);
        AuditCheckpoint checkpoint = AuditCheckpoint.parse(ctx.bodyAsBytes());
        ctx.json(verificationView(checkpoints.verify(checkpoint), Optional.of(checkpoint)));
    }

    private static Map<String, Object> verificationView(AuditLog.Verification verification, Optional<AuditCheckpoint> checkpoint) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("intact", verification.intact());
        body.put("checked", verification.checked());
        verification.firstBad().ifPresent(seq -> body.put("first_bad_entry", seq));
        body.put("message", verification.message());
        checkpoint.ifPresent(signed -> {
            Map<String, Object> against = new LinkedHashMap<>();
            against.put("size", signed.size());
            against.put("head_hash", signed.headHash());
            against.put("timestamp", signed.timestamp());
            body.put("checkpoint", against);
        });
        return body;
    }

    /** Signs the audit log's head now; the checkpoint also goes to the outbox. */
    private void signCheckpoint(Context ctx) {
        guard.operator(ctx);
        ctx.status(201).json(checkpoints.checkpoint().toMap());
    }

    private void latestCheckpoint(Context ctx) {
        guard.operator(ctx);
        AuditCheckpoint latest = checkpoints.latest().orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND,
                "No audit checkpoint was signed yet; POST /v1/admin/audit/checkpoints signs one"));
        ctx.json(latest.toMap());
    }

    private static final BigDecimal MAX_BUDGET = BigDecimal.TEN.pow(15);

    private static Optional<Money> budget(BigDecimal amount) {
        if (amount == null) {
            return Optional.empty();
        }
        if (amount.signum() < 0) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "monthly_budget must not be negative", Map.of("field", "monthly_budget"));
        }
        // The column is NUMERIC(30, 15): at most 15 digits before the point.
        if (amount.compareTo(MAX_BUDGET) >= 0) {
            throw new SomaException(ErrorCode.VALUE_OUT_OF_RANGE, "monthly_budget must be less than 10^15 (1000000000000000), not %s"
                    .formatted(amount.toString().length() > 40 ? amount.toString().substring(0, 40) + "..." : amount.toString()),
                    Map.of("field", "monthly_budget"));
        }
        return Optional.of(Money.of(amount));
    }

    static Map<String, Object> tenantView(Tenant tenant) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", tenant.id().toString());
        view.put("name", tenant.name());
        view.put("tier", tenant.tier());
        view.put("home_region", tenant.homeRegion());
        view.put("monthly_budget", tenant.monthlyBudget().map(Money::toPlainString).orElse(null));
        view.put("created_at", tenant.createdAt().toString());
        return view;
    }

    static Map<String, Object> keyView(ApiKey key) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", key.id().toString());
        view.put("tenant_id", key.tenantId().toString());
        view.put("name", key.name());
        view.put("prefix", key.prefix());
        view.put("scopes", new TreeSet<>(key.scopes()));
        view.put("monthly_budget", key.monthlyBudget().map(Money::toPlainString).orElse(null));
        view.put("created_at", key.createdAt().toString());
        view.put("revoked_at", key.revokedAt().map(Object::toString).orElse(null));
        return view;
    }

    public record CreateTenant(String name, String tier, @JsonProperty("home_region") String homeRegion,
            @JsonProperty("monthly_budget") BigDecimal monthlyBudget) {
    }

    record CreateKey(String name, List<String> scopes, @JsonProperty("monthly_budget") BigDecimal monthlyBudget) {
    }
}
