package io.somastack.metering;

import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Idempotency;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.math.RoundingMode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Operator credits: {@code POST /v1/admin/credits} {@code {"tenant_id", "amount", "reason"}}
 * grants one (201; honours {@code Idempotency-Key}; a 400 lists every problem, an unknown tenant
 * is a 404), {@code GET /v1/admin/credits?tenant_id=} lists a tenant's grants and what is left.
 */
public final class CreditRoutes implements EndpointGroup {
    private final Guard guard;
    private final Credits credits;
    private final Idempotency idempotency;

    public CreditRoutes(Guard guard, Credits credits, Jdbi jdbi) {
        this.guard = requireNonNull(guard, "guard is null");
        this.credits = requireNonNull(credits, "credits is null");
        this.idempotency = new Idempotency(jdbi);
    }

    @Override
    public void addEndpoints() {
        get("/v1/admin/credits", this::list);
        post("/v1/admin/credits", this::grant);
    }

    private void list(Context ctx) {
        guard.operator(ctx);
        String text = ctx.queryParam("tenant_id");
        TenantId tenant;
        try {
            tenant = new TenantId(UUID.fromString(text == null ? "" : text));
        } catch (IllegalArgumentException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "tenant_id is required (a tenant's id)", Map.of("field", "tenant_id"));
        }
        ctx.json(Map.of("data", credits.list(tenant).stream().map(CreditRoutes::view).toList()));
    }

    private void grant(Context ctx) {
        guard.operator(ctx);
        Credits.NewCredit request = Json.read(ctx.bodyAsBytes(), Credits.NewCredit.class);
        Optional<Idempotency.Request> keyed = idempotency.of(ctx, Idempotency.OPERATOR);
        if (idempotency.replay(ctx, keyed)) {
            return;
        }
        byte[][] answer = new byte[1][];
        credits.grant(request, "operator", Edge.requestId(ctx), (tx, grant) -> {
            answer[0] = Json.bytes(view(grant));
            idempotency.remember(tx, keyed, 201, answer[0]);
        });
        ctx.status(201).contentType("application/json").result(answer[0]);
    }

    /** A grant as the API shows it. */
    static Map<String, Object> view(Credits.Grant grant) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", grant.id().toString());
        view.put("tenant_id", grant.tenantId().toString());
        view.put("amount", cents(grant.amount()));
        view.put("remaining", cents(grant.remaining()));
        view.put("currency", grant.currency());
        view.put("reason", grant.reason());
        view.put("created_at", grant.createdAt().toString());
        return view;
    }

    /** Credits are whole cents, so this drops only zeros. */
    private static String cents(Money amount) {
        return amount.amount().setScale(2, RoundingMode.UNNECESSARY).toPlainString();
    }
}
