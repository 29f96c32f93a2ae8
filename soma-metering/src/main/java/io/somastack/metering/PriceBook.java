package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Prices by model, versioned by effective date: a call is priced by the newest entry of its
 * model that took effect at or before the call. Tool calls are priced per call
 * ({@link ToolPrice}), by capsule tool ({@code <capsule>/<tool>}) or else by executor kind
 * ({@code wasm}, {@code http}, {@code mcp}); an unpriced tool call is free. Immutable and thread-safe.
 */
public final class PriceBook {
    private final Map<String, List<Price>> byModel;
    private final Map<String, List<ToolPrice>> byTool;
    private final List<Price> modelPrices;
    private final List<ToolPrice> toolPrices;

    public PriceBook(List<Price> prices) {
        this(prices, List.of());
    }

    public PriceBook(List<Price> prices, List<ToolPrice> toolPrices) {
        this.byModel = prices.stream().collect(Collectors.groupingBy(Price::model,
                Collectors.collectingAndThen(Collectors.toList(),
                        list -> list.stream().sorted(Comparator.comparing(Price::effectiveFrom).reversed()).toList())));
        this.byTool = toolPrices.stream().collect(Collectors.groupingBy(ToolPrice::target,
                Collectors.collectingAndThen(Collectors.toList(),
                        list -> list.stream().sorted(Comparator.comparing(ToolPrice::effectiveFrom).reversed()).toList())));
        this.modelPrices = List.copyOf(prices);
        this.toolPrices = List.copyOf(toolPrices);
    }

    /** This book with {@code prices} added to its tool prices. */
    public PriceBook withToolPrices(List<ToolPrice> prices) {
        List<ToolPrice> all = new ArrayList<>(toolPrices);
        all.addAll(prices);
        return new PriceBook(modelPrices, all);
    }

    /**
     * What one call of {@code capsule}'s {@code tool}, run by executor {@code kind}, costs at
     * {@code at}: the capsule tool's own price, else the executor kind's, else none (free).
     */
    public Optional<ToolPrice> toolPrice(String capsule, String tool, String kind, Instant at) {
        return newest(byTool.get(capsule + "/" + tool), at).or(() -> newest(byTool.get(kind), at));
    }

    private static Optional<ToolPrice> newest(List<ToolPrice> prices, Instant at) {
        return prices == null ? Optional.empty() : prices.stream().filter(price -> !price.effectiveFrom().isAfter(at)).findFirst();
    }

    /**
     * A per-call price of tool calls from {@code effectiveFrom} on.
     *
     * @param target {@code <capsule>/<tool>} for one capsule tool, or an executor kind ({@code wasm}, {@code http}, {@code mcp})
     */
    public record ToolPrice(String target, Money perCall, Instant effectiveFrom) {
        public ToolPrice {
            requireNonNull(target, "target is null");
            requireNonNull(perCall, "perCall is null");
            requireNonNull(effectiveFrom, "effectiveFrom is null");
            if (perCall.isNegative()) {
                throw new IllegalArgumentException("The price of tool calls of %s must not be negative".formatted(target));
            }
        }
    }

    public Optional<Price> price(String model, Instant at) {
        return byModel.getOrDefault(model, List.of()).stream().filter(price -> !price.effectiveFrom().isAfter(at)).findFirst();
    }

    public boolean knows(String model) {
        return byModel.containsKey(model);
    }
}
