package io.somastack.kernel;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * An exact amount of US dollars. Arithmetic never rounds: token prices have many decimal
 * places and a sum of ledger rows must equal its invoice exactly. The one place that rounds
 * is {@link #roundedForInvoice()} (to cents, half-even), used only when an amount is shown
 * on an invoice line. Stored in PostgreSQL as {@code NUMERIC(30,15)}.
 */
public record Money(BigDecimal amount) implements Comparable<Money> {
    /** Digits after the point the ledger keeps; every price in a price book must fit. */
    public static final int SCALE = 15;
    public static final Money ZERO = new Money(BigDecimal.ZERO);

    public Money {
        requireNonNull(amount, "amount is null");
        if (amount.scale() > SCALE && amount.stripTrailingZeros().scale() > SCALE) {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "Amount %s has more than %d decimal places".formatted(amount.toPlainString(), SCALE));
        }
        amount = amount.setScale(SCALE, RoundingMode.UNNECESSARY);
    }

    public static Money of(String text) {
        try {
            return new Money(new BigDecimal(text));
        } catch (NumberFormatException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' is not a decimal amount".formatted(text));
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

    /** The only rounding in SomaStack: to whole cents, half-even, for invoice lines. */
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
