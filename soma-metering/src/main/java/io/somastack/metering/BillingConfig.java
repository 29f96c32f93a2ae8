package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Json;
import io.somastack.kernel.Settings;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Billing settings: the price book's one currency, the SKU prices a config file seeds the
 * catalog with, per-tenant tax rates, and the scheduled period close.
 * <pre>
 * billing:
 *   currency: USD
 *   skus:
 *     - {sku: platform_fee:standard, unit_price: "49.00", effective_from: 2026-01}
 *     - sku: tokens.output:gpt-4o-mini
 *       pricing: tiered
 *       tiers: [{up_to: 100, unit_price: "0.60"}, {unit_price: "0.50"}]
 *       effective_from: 2026-01
 *   tax-rates: {acme: "0.20"}        # by tenant name; default 0
 * invoices:
 *   scheduled-close: true            # close each period by itself
 *   close-delay: 1h                  # after the period's end, for late ledger rows
 *   close-check-interval: 5m         # how often each node looks for a period to close
 * </pre>
 * and {@code billing.export.*} ({@link ExportConfig}).
 */
public record BillingConfig(String currency, List<SkuCatalog.NewPrice> skus, Map<String, BigDecimal> taxRates, boolean scheduledClose,
        Duration closeDelay, Duration closeCheckInterval, ExportConfig exports) {
    /** The default {@code invoices.close-check-interval}. */
    public static final Duration CLOSE_CHECK_INTERVAL = Duration.ofMinutes(5);

    public BillingConfig {
        requireNonNull(currency, "currency is null");
        skus = List.copyOf(skus);
        taxRates = Map.copyOf(taxRates);
        requireNonNull(closeDelay, "closeDelay is null");
        requireNonNull(closeCheckInterval, "closeCheckInterval is null");
        requireNonNull(exports, "exports is null");
        if (closeDelay.isNegative()) {
            throw new IllegalArgumentException("invoices.close-delay must not be negative");
        }
        if (!closeCheckInterval.isPositive()) {
            throw new IllegalArgumentException("invoices.close-check-interval must be positive");
        }
    }

    /** Settings with the default close check interval. */
    public BillingConfig(String currency, List<SkuCatalog.NewPrice> skus, Map<String, BigDecimal> taxRates, boolean scheduledClose,
            Duration closeDelay) {
        this(currency, skus, taxRates, scheduledClose, closeDelay, CLOSE_CHECK_INTERVAL, ExportConfig.none());
    }

    public static BillingConfig defaults() {
        return new BillingConfig("USD", List.of(), Map.of(), true, Duration.ofHours(1));
    }

    public static BillingConfig from(Settings settings) {
        String currency = settings.string("billing.currency", "USD");
        if (!currency.matches("^[A-Z]{3}$")) {
            settings.problem("billing.currency must be an ISO 4217 code such as USD, not '%s'".formatted(currency));
            currency = "USD";
        }
        List<SkuCatalog.NewPrice> skus = new ArrayList<>();
        settings.structured("billing.skus").ifPresent(list -> {
            if (!list.isArray()) {
                settings.problem("billing.skus must be a list of prices {sku, pricing, unit_price | tiers, effective_from}");
                return;
            }
            int index = 0;
            for (JsonNode entry : list) {
                try {
                    skus.add(Json.convert(entry, SkuCatalog.NewPrice.class));
                } catch (RuntimeException e) {
                    settings.problem("billing.skus[%d] is invalid: %s".formatted(index, e.getMessage()));
                }
                index++;
            }
        });
        Map<String, BigDecimal> taxRates = new LinkedHashMap<>();
        settings.withPrefix("billing.tax-rates").forEach((tenant, text) -> {
            try {
                BigDecimal value = new BigDecimal(text.trim());
                if (value.signum() < 0 || value.compareTo(BigDecimal.ONE) > 0 || value.stripTrailingZeros().scale() > 6) {
                    throw new IllegalArgumentException("must be between 0 and 1 with at most 6 decimal places");
                }
                taxRates.put(tenant, value);
            } catch (RuntimeException e) {
                settings.problem("billing.tax-rates.%s ('%s') is not a rate: %s".formatted(tenant, text, e.getMessage()));
            }
        });
        Duration closeDelay = settings.duration("invoices.close-delay", Duration.ofHours(1));
        if (closeDelay.isNegative()) {
            settings.problem("invoices.close-delay must not be negative");
            closeDelay = Duration.ofHours(1);
        }
        Duration checkInterval = settings.duration("invoices.close-check-interval", CLOSE_CHECK_INTERVAL);
        if (!checkInterval.isPositive()) {
            settings.problem("invoices.close-check-interval must be positive");
            checkInterval = CLOSE_CHECK_INTERVAL;
        }
        return new BillingConfig(currency, skus, taxRates, settings.bool("invoices.scheduled-close", true), closeDelay, checkInterval,
                ExportConfig.from(settings));
    }
}
