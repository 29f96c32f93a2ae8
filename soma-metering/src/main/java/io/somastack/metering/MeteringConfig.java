package io.somastack.metering;

import io.somastack.kernel.Money;
import io.somastack.kernel.Settings;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * Metering settings. Prices come from YAML:
 * <pre>
 * prices:
 *   - model: gpt-4o-mini
 *     input_per_million: "0.15"
 *     output_per_million: "0.60"
 *     effective_from: 2026-01-01
 * </pre>
 * Local models are free unless priced. {@code reservation.ttl} bounds how long an unsettled
 * reservation (of a node that died mid-call) holds budget. {@code memory.storage.price-per-mb-hour}
 * (default 0) prices stored memory, metered in MB-hours into the same ledger. {@code budgets.leases.*}
 * configures budget leases per node ({@link LeaseConfig}).
 */
public record MeteringConfig(List<Price> prices, Duration reservationTtl, Money storagePerMbHour, LeaseConfig leases) {
    public MeteringConfig {
        prices = List.copyOf(prices);
        java.util.Objects.requireNonNull(storagePerMbHour, "storagePerMbHour is null");
        java.util.Objects.requireNonNull(leases, "leases is null");
        if (storagePerMbHour.isNegative()) {
            throw new IllegalArgumentException("memory.storage.price-per-mb-hour must not be negative");
        }
    }

    /** With the default budget leases. */
    public MeteringConfig(List<Price> prices, Duration reservationTtl, Money storagePerMbHour) {
        this(prices, reservationTtl, storagePerMbHour, LeaseConfig.DEFAULTS);
    }

    public static MeteringConfig from(Settings settings) {
        List<Price> prices = new ArrayList<>();
        settings.structured("prices").ifPresent(list -> {
            if (!list.isArray()) {
                settings.problem("prices must be a list of {model, input_per_million, output_per_million, effective_from}");
                return;
            }
            int index = 0;
            for (JsonNode entry : list) {
                try {
                    String model = entry.required("model").asString();
                    Money input = Money.of(new BigDecimal(entry.required("input_per_million").asString()));
                    Money output = Money.of(new BigDecimal(entry.required("output_per_million").asString()));
                    Instant from = entry.has("effective_from")
                            ? LocalDate.parse(entry.get("effective_from").asString()).atStartOfDay(ZoneOffset.UTC).toInstant()
                            : Instant.EPOCH;
                    prices.add(new Price(model, input, output, from));
                } catch (RuntimeException e) {
                    settings.problem("prices[%d] is invalid: %s".formatted(index, e.getMessage()));
                }
                index++;
            }
        });
        Money storage = settings.money("memory.storage.price-per-mb-hour").orElse(Money.ZERO);
        if (storage.isNegative()) {
            settings.problem("memory.storage.price-per-mb-hour must not be negative");
            storage = Money.ZERO;
        }
        return new MeteringConfig(prices, settings.duration("reservation.ttl", Duration.ofMinutes(10)), storage,
                LeaseConfig.from(settings));
    }
}
