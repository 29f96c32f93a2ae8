package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.YearMonth;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * One tenant's bill for one period (a calendar month, UTC). Each line holds its exact amount
 * (the sum of the tenant's ledger rows of that SKU in the period) and that amount rounded
 * half-even to cents ({@link Money#roundedForInvoice}, the only rounding of an invoice). The
 * tax line is the subtotal times the tenant's rate, rounded the same way. {@code subtotal} is
 * the sum of the rounded lines and {@code total} is {@code subtotal + tax}, so the lines always
 * add up to the total; {@code ledgerTotal} is the sum of the exact amounts, equal to the
 * ledger. {@code id} and {@code number} are empty for the upcoming invoice, computed on the fly.
 */
public record Invoice(Optional<UUID> id, TenantId tenantId, String tenantName, YearMonth period, Optional<String> number, Status status,
        String currency, List<Line> lines, Money ledgerTotal, Money subtotal, BigDecimal taxRate, Money taxExact, Money tax, Money total,
        Instant createdAt, Optional<Instant> finalizedAt, Optional<Instant> voidedAt) {
    public Invoice {
        requireNonNull(id, "id is null");
        requireNonNull(tenantId, "tenantId is null");
        requireNonNull(period, "period is null");
        requireNonNull(number, "number is null");
        requireNonNull(status, "status is null");
        lines = List.copyOf(lines);
    }

    /** The lifecycle: a draft may change until it is finalized; a finalized invoice never changes, it can only be voided. */
    public enum Status {
        DRAFT, FINALIZED, VOID;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Status parse(String text) {
            return valueOf(text.toUpperCase(Locale.ROOT));
        }
    }

    /**
     * One SKU's charge.
     *
     * @param unitPrice the unit price when the SKU's price is flat
     * @param pricing {@code flat}, {@code tiered}, {@code volume}, or {@code ledger} for a SKU the catalog does not price
     *     (billed at what its rows cost when they were written)
     * @param exactAmount the sum of the SKU's ledger rows in the period, never rounded
     * @param amount {@code exactAmount} rounded half-even to cents
     */
    public record Line(String sku, String description, String pricing, BigDecimal quantity, String unit, Optional<Money> unitPrice,
            Money exactAmount, Money amount) {
        public Line {
            requireNonNull(sku, "sku is null");
            requireNonNull(unitPrice, "unitPrice is null");
        }
    }
}
