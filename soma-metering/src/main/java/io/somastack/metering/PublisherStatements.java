package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import java.math.BigDecimal;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/**
 * A publisher's statement for a period: per capsule SKU of theirs, what tenants were billed for it
 * (the sum of the period's ledger rows of that SKU, the close's adjustments included, so it is the
 * invoices' exact amount for it) and the publisher's revenue share of it, the other side of the
 * same ledger rows. The share is the catalog version in effect for the period; its product with the
 * gross is kept to the ledger's 15 places ({@link Money#timesQuantity}) and each line is rounded
 * once to cents ({@link Money#roundedForInvoice}); the total sums the rounded lines. A period not
 * yet closed is the statement so far. Thread-safe.
 */
public final class PublisherStatements {
    private static final String LINES = """
            SELECT s.sku, (SELECT count(*) FROM capsule_charges r WHERE r.publisher = :publisher AND r.sku = s.sku AND r.period = :period) AS runs,
                   coalesce((SELECT sum(l.quantity) FILTER (WHERE l.meter = 'capsule') FROM usage_ledger l
                             WHERE l.sku = s.sku AND l.period = :period), 0) AS quantity,
                   coalesce((SELECT sum(l.cost) FROM usage_ledger l WHERE l.sku = s.sku AND l.period = :period), 0) AS gross
            FROM (SELECT DISTINCT sku FROM capsule_charges WHERE publisher = :publisher) AS s ORDER BY s.sku""";

    private final Jdbi jdbi;

    public PublisherStatements(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** One SKU of the statement. {@code unit} is empty when the catalog does not price the SKU. */
    public record Line(String sku, long runs, BigDecimal quantity, Optional<String> unit, Money gross, BigDecimal revenueShare,
            Money exactEarned, Money earned) {
    }

    /** A statement; {@code gross} and {@code total} sum the lines' exact gross and rounded earnings. */
    public record Statement(String publisher, YearMonth period, List<Line> lines, Money gross, Money total) {
    }

    public Statement statement(String publisher, YearMonth period) {
        requireNonNull(publisher, "publisher is null");
        return jdbi.withHandle(handle -> {
            List<Line> lines = new ArrayList<>();
            handle.createQuery(LINES).bind("publisher", publisher).bind("period", period.atDay(1))
                    .map((rs, ctx) -> new Object[] {rs.getString("sku"), rs.getLong("runs"), rs.getBigDecimal("quantity"), rs.getBigDecimal("gross")})
                    .list().forEach(row -> {
                        String sku = (String) row[0];
                        Optional<SkuPrice> price = SkuCatalog.inEffect(handle, sku, period.atDay(1));
                        BigDecimal share = price.flatMap(SkuPrice::revenueShare).orElse(BigDecimal.ZERO);
                        Money gross = Money.of((BigDecimal) row[3]);
                        Money exact = gross.timesQuantity(share);
                        lines.add(new Line(sku, (Long) row[1], ((BigDecimal) row[2]).stripTrailingZeros(), price.map(SkuPrice::unit), gross,
                                share.stripTrailingZeros(), exact, Money.of(exact.roundedForInvoice())));
                    });
            Money gross = lines.stream().map(Line::gross).reduce(Money.ZERO, Money::plus);
            Money total = lines.stream().map(Line::earned).reduce(Money.ZERO, Money::plus);
            return new Statement(publisher, period, List.copyOf(lines), gross, total);
        });
    }
}
