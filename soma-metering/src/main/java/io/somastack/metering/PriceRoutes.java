package io.somastack.metering;

import static io.javalin.apibuilder.ApiBuilder.get;
import static io.javalin.apibuilder.ApiBuilder.post;
import static java.util.Objects.requireNonNull;

import io.javalin.apibuilder.EndpointGroup;
import io.javalin.http.Context;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Idempotency;
import io.somastack.kernel.Json;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/**
 * The operator's SKU catalog: {@code GET /v1/admin/prices} lists every version, {@code POST
 * /v1/admin/prices} adds one (201; a 400 lists every problem, an overlapping version included).
 */
public final class PriceRoutes implements EndpointGroup {
    private final Guard guard;
    private final SkuCatalog catalog;
    private final Idempotency idempotency;

    public PriceRoutes(Guard guard, SkuCatalog catalog, Jdbi jdbi) {
        this.guard = requireNonNull(guard, "guard is null");
        this.catalog = requireNonNull(catalog, "catalog is null");
        this.idempotency = new Idempotency(jdbi);
    }

    @Override
    public void addEndpoints() {
        get("/v1/admin/prices", this::list);
        post("/v1/admin/prices", this::create);
    }

    private void list(Context ctx) {
        guard.operator(ctx);
        ctx.json(Map.of("currency", catalog.currency(), "data", catalog.list().stream().map(PriceRoutes::view).toList()));
    }

    private void create(Context ctx) {
        guard.operator(ctx);
        SkuCatalog.NewPrice request = Json.read(ctx.bodyAsBytes(), SkuCatalog.NewPrice.class);
        Optional<Idempotency.Request> keyed = idempotency.of(ctx, Idempotency.OPERATOR);
        if (idempotency.replay(ctx, keyed)) {
            return;
        }
        byte[][] answer = new byte[1][];
        catalog.add(request, "operator", Edge.requestId(ctx), (tx, price) -> {
            answer[0] = Json.bytes(view(price));
            idempotency.remember(tx, keyed, 201, answer[0]);
        });
        ctx.status(201).contentType("application/json").result(answer[0]);
    }

    /** A version as the API shows it. */
    static Map<String, Object> view(SkuPrice price) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", price.id().toString());
        view.put("sku", price.sku());
        view.put("currency", price.currency());
        view.put("pricing", price.pricing().wire());
        view.put("unit", price.unit());
        price.unitPrice().ifPresent(unitPrice -> view.put("unit_price", unitPrice.toPlainString()));
        if (price.pricing() != SkuPrice.Pricing.FLAT) {
            view.put("tiers", price.tiers().stream().map(tier -> {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("up_to", tier.upTo().map(BigDecimal::toPlainString).orElse(null));
                row.put("unit_price", tier.unitPrice().toPlainString());
                row.put("flat_fee", tier.flatFee().toPlainString());
                return row;
            }).toList());
        }
        price.revenueShare().ifPresent(share -> view.put("revenue_share", share.stripTrailingZeros().toPlainString()));
        view.put("effective_from", price.effectiveFrom().toString());
        view.put("effective_to", price.effectiveTo().map(LocalDate::toString).orElse(null));
        return view;
    }
}
