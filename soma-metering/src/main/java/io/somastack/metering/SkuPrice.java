package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * One version of one SKU's price, in effect for whole periods (calendar months, UTC) from
 * {@code effectiveFrom} until {@code effectiveTo} (exclusive; open-ended when empty).
 * {@link #amount} prices a period's quantity: {@code flat} (one unit price), {@code tiered}
 * (graduated: each tier's units at that tier's price, plus the flat fee of every tier reached)
 * or {@code volume} (all units at the price of the tier the total falls in, plus its flat fee).
 * A flat price is one open-ended tier. Immutable and thread-safe.
 *
 * @param revenueShare for {@code capsule:} SKUs, the publisher's share of the amount (0 to 1)
 */
public record SkuPrice(UUID id, String sku, String currency, Pricing pricing, String unit, List<Tier> tiers,
        Optional<BigDecimal> revenueShare, LocalDate effectiveFrom, Optional<LocalDate> effectiveTo) {
    public SkuPrice {
        requireNonNull(id, "id is null");
        requireNonNull(sku, "sku is null");
        requireNonNull(currency, "currency is null");
        requireNonNull(pricing, "pricing is null");
        requireNonNull(unit, "unit is null");
        tiers = List.copyOf(tiers);
        requireNonNull(revenueShare, "revenueShare is null");
        requireNonNull(effectiveFrom, "effectiveFrom is null");
        requireNonNull(effectiveTo, "effectiveTo is null");
        if (tiers.isEmpty() || tiers.getLast().upTo().isPresent()) {
            throw new IllegalArgumentException("The last tier of %s must be open-ended".formatted(sku));
        }
    }

    /**
     * What {@code quantity} units cost in one period. Exact, except that a unit price times a
     * fractional quantity is rounded by {@link Money#timesQuantity} (to 15 places), the same
     * rounding the ledger applies to metered quantities.
     */
    public Money amount(BigDecimal quantity) {
        if (quantity.signum() <= 0) {
            return Money.ZERO;
        }
        return switch (pricing) {
            case FLAT -> tiers.getFirst().unitPrice().timesQuantity(quantity);
            case VOLUME -> {
                Tier tier = tiers.stream().filter(t -> t.upTo().map(upTo -> quantity.compareTo(upTo) <= 0).orElse(true))
                        .findFirst().orElseThrow();
                yield tier.unitPrice().timesQuantity(quantity).plus(tier.flatFee());
            }
            case TIERED -> {
                Money total = Money.ZERO;
                BigDecimal below = BigDecimal.ZERO;
                for (Tier tier : tiers) {
                    BigDecimal top = tier.upTo().map(upTo -> upTo.min(quantity)).orElse(quantity);
                    total = total.plus(tier.unitPrice().timesQuantity(top.subtract(below))).plus(tier.flatFee());
                    below = top;
                    if (tier.upTo().map(upTo -> quantity.compareTo(upTo) <= 0).orElse(true)) {
                        break;
                    }
                }
                yield total;
            }
        };
    }

    /** The unit price when there is one (flat pricing). */
    public Optional<Money> unitPrice() {
        return pricing == Pricing.FLAT ? Optional.of(tiers.getFirst().unitPrice()) : Optional.empty();
    }

    /** Whether this version is in effect during the period starting {@code periodStart}. */
    public boolean covers(LocalDate periodStart) {
        return !effectiveFrom.isAfter(periodStart) && effectiveTo.map(periodStart::isBefore).orElse(true);
    }

    /** Whether this version and {@code other} are in effect in some common period. */
    public boolean overlaps(LocalDate from, Optional<LocalDate> to) {
        boolean startsBeforeOtherEnds = to.map(effectiveFrom::isBefore).orElse(true);
        boolean otherStartsBeforeThisEnds = effectiveTo.map(from::isBefore).orElse(true);
        return startsBeforeOtherEnds && otherStartsBeforeThisEnds;
    }

    /** How a quantity is priced. */
    public enum Pricing {
        FLAT, TIERED, VOLUME;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Units up to {@code upTo} (inclusive; open-ended when empty) at {@code unitPrice} each,
     * plus {@code flatFee} once when the quantity reaches this tier.
     */
    public record Tier(Optional<BigDecimal> upTo, Money unitPrice, Money flatFee) {
        public Tier {
            requireNonNull(upTo, "upTo is null");
            requireNonNull(unitPrice, "unitPrice is null");
            requireNonNull(flatFee, "flatFee is null");
        }
    }
}
