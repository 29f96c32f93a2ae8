package io.somastack.metering;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Prices by model, versioned by effective date: a call is priced by the newest entry of its
 * model that took effect at or before the call. Immutable and thread-safe.
 */
public final class PriceBook {
    private final Map<String, List<Price>> byModel;

    public PriceBook(List<Price> prices) {
        this.byModel = prices.stream().collect(Collectors.groupingBy(Price::model,
                Collectors.collectingAndThen(Collectors.toList(),
                        list -> list.stream().sorted(Comparator.comparing(Price::effectiveFrom).reversed()).toList())));
    }

    public Optional<Price> price(String model, Instant at) {
        return byModel.getOrDefault(model, List.of()).stream().filter(price -> !price.effectiveFrom().isAfter(at)).findFirst();
    }

    public boolean knows(String model) {
        return byModel.containsKey(model);
    }
}
