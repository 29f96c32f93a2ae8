package io.somastack.kernel;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * An exact amount of US dollars. Token arithmetic never rounds: prices have many decimal
 * places and a sum of ledger rows must equal its invoice exactly. All rounding in SomaStack
 * lives in this class, half-even each time: {@link #roundedForInvoice()} (to cents, only
 * when an amount is shown on an invoice line), {@link #timesQuantity} (a price times a
 * fractional metered quantity such as MB-hours, to {@link #SCALE} places, so the ledger row
 * is what is summed) and {@link #dividedBy} (means for rankings, never billed). Stored in
 * PostgreSQL as {@code NUMERIC(30,15)}.
 */
public record Money(BigDecimal amount) implements Comparable<Money> {
    /** Digits after the point the ledger keeps; every price in a price book must fit. */
    public static final int SCALE = 15;
    public static final Money ZERO = new Money(BigDecimal.ZERO);

    public Money {
        requireNonNull(amount, "amount is null");
        // Checked before any rescaling: 1E+999999999 or 1E-999999999 must be refused, not expanded.
        if (amount.precision() - amount.scale() > MAX_INTEGER_DIGITS) {
            throw new SomaException(ErrorCode.VALUE_OUT_OF_RANGE,
                    "Amount %s has more than %d digits before the decimal point".formatted(abbreviate(amount), MAX_INTEGER_DIGITS));
        }
        if (amount.scale() > SCALE && amount.stripTrailingZeros().scale() > SCALE) {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "Amount %s has more than %d decimal places".formatted(abbreviate(amount), SCALE));
        }
        amount = amount.setScale(SCALE, RoundingMode.UNNECESSARY);
    }

    /**
     * Digits before the point that any amount may have: a guard against absurd inputs. Stored
     * amounts are NUMERIC(30, 15) (15 digits before the point); routes that store one check that.
     */
    public static final int MAX_INTEGER_DIGITS = 23;

    private static String abbreviate(BigDecimal amount) {
        String text = amount.toString();
        return text.length() <= 48 ? text : text.substring(0, 48) + "...";
    }

    public static Money of(String text) {
        try {
            return new Money(new BigDecimal(text));
        } catch (NumberFormatException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' is not a decimal amount".formatted(text.length() <= 48 ? text : text.substring(0, 48) + "..."));
        }
    }

    public static Money of(BigDecimal amount) {
        return new Money(amount);
    }

    public Money plus(Money other) {
        return new Money(amount.add(other.amount));
    }

    public Money minus(Money other) {
        return new Money(amount.subtract(other.amount));
    }

    /** This price per million units times {@code units}, exactly. */
    public Money perMillionTimes(long units) {
        return new Money(amount.multiply(BigDecimal.valueOf(units)).movePointLeft(6));
    }

    public boolean isNegative() {
        return amount.signum() < 0;
    }

    /**
     * This unit price times a metered {@code quantity} that is not a whole number of units
     * (e.g. 0.000123 MB-hours), rounded half-even to {@link #SCALE} places: one of the three
     * roundings, all in this class.
     */
    public Money timesQuantity(BigDecimal quantity) {
        return new Money(amount.multiply(quantity).setScale(SCALE, RoundingMode.HALF_EVEN));
    }

    /** The mean of {@code count} amounts summing to this, rounded half-even to {@link #SCALE} places (for rankings, never billed). */
    public Money dividedBy(long count) {
        if (count <= 0) {
            throw new IllegalArgumentException("count must be positive");
        }
        return new Money(amount.divide(BigDecimal.valueOf(count), SCALE, RoundingMode.HALF_EVEN));
    }

    /** To whole cents, half-even, for invoice lines. */
    public BigDecimal roundedForInvoice() {
        return amount.setScale(2, RoundingMode.HALF_EVEN);
    }

    /** Plain decimal text without trailing zeros beyond two places, e.g. {@code 0.00042}. */
    public String toPlainString() {
        BigDecimal stripped = amount.stripTrailingZeros();
        if (stripped.scale() < 2) {
            stripped = stripped.setScale(2, RoundingMode.UNNECESSARY);
        }
        return stripped.toPlainString();
    }

    @Override
    public int compareTo(Money other) {
        return amount.compareTo(other.amount);
    }

    @Override
    public String toString() {
        return toPlainString() + " USD";
    }
}
