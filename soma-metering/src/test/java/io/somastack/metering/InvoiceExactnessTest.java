package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Builders;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * The invoice invariant over random ledgers, call-time prices, catalog prices and tiers, credits
 * and late rows, on real PostgreSQL: after a close, the invoice's exact lines sum to the tenant's
 * ledger rows of the period exactly, each line is its exact amount rounded half-even to cents,
 * the total is the sum of the rounded lines plus the rounded tax, a credit takes at most the
 * rounded lines (never below zero) and keeps the rest, a row arriving after the close moves to the
 * next period and leaves the closed one equal to its invoice, and a second close changes nothing.
 */
class InvoiceExactnessTest {
    private static BillingHarness billing;
    /** Each try closes its own period, earlier than the last, so it sees only its own tenant. */
    private static final AtomicInteger TRY = new AtomicInteger();

    private static synchronized BillingHarness billing() {
        if (billing == null) {
            billing = new BillingHarness(Map.of());
        }
        return billing;
    }

    @AfterContainer
    static void stop() {
        if (billing != null) {
            billing.close();
        }
    }

    record Call(int model, long input, long output, BigDecimal inputPrice, BigDecimal outputPrice) {
    }

    record Catalog(String pricing, List<BigDecimal> bounds, List<BigDecimal> unitPrices, BigDecimal fee) {
    }

    @Property(tries = 60)
    void theInvoiceEqualsTheLedgerToTheCent(@ForAll("calls") List<Call> calls, @ForAll("catalogs") Catalog catalog,
            @ForAll("storage") List<BigDecimal> storage, @ForAll("credits") BigDecimal credit) {
        BillingHarness billing = billing();
        int n = TRY.incrementAndGet();
        YearMonth period = YearMonth.of(2400, 1).minusMonths(n);
        Instant start = period.atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
        billing.now.set(start);
        billing.gateway.tenantKey("property-" + n, "invoices:read");
        TenantId tenant = billing.tenantOf("property-" + n);
        addPrice(billing, "tokens.output:model-0", period, catalog);
        addPrice(billing, "platform_fee:standard", period, new Catalog("flat", List.of(), List.of(catalog.fee()), BigDecimal.ZERO));

        billing.now.set(start.plusSeconds(3600));
        for (Call call : calls) {
            billing.call(tenant, "model-" + call.model(), call.input(), call.output(), call.inputPrice().toPlainString(),
                    call.outputPrice().toPlainString());
        }
        for (int i = 0; i < storage.size(); i++) {
            Instant from = start.plusSeconds(7200 + i * 60L);
            BigDecimal mbHours = storage.get(i);
            billing.commit.execute(tx -> billing.ledger.recordStorage(tx, tenant, 1, from, from.plusSeconds(60), mbHours, Money.of("0.0003")));
        }
        if (credit.signum() > 0) {
            billing.metering.credits().grant(new Credits.NewCredit(tenant.toString(), credit, null, "property"), "property", "req",
                    (tx, grant) -> { });
        }
        billing.now.set(start.plusSeconds(60L * 60 * 24 * 32));

        Invoice invoice = onlyInvoice(billing.invoicing.close(period, true, "property", "req"), tenant);
        Money beforeCredit = invoice.lines().stream().filter(line -> !line.sku().equals(Skus.CREDIT)).map(Invoice.Line::amount)
                .reduce(Money.ZERO, Money::plus);
        Money applied = invoice.lines().stream().filter(line -> line.sku().equals(Skus.CREDIT)).map(Invoice.Line::amount)
                .reduce(Money.ZERO, Money::plus);
        Money expectedCredit = Money.of(credit.min(beforeCredit.amount().max(BigDecimal.ZERO)));
        assertThat(Money.ZERO.minus(applied)).isEqualTo(expectedCredit);
        assertThat(invoice.subtotal().isNegative()).isFalse();
        if (credit.signum() > 0) {
            assertThat(billing.metering.credits().list(tenant).getFirst().remaining()).isEqualTo(Money.of(credit).minus(expectedCredit));
        }
        Money ledger = billing.ledgerSum(tenant, period);
        assertThat(invoice.ledgerTotal()).isEqualTo(ledger);
        assertThat(invoice.lines().stream().map(Invoice.Line::exactAmount).reduce(Money.ZERO, Money::plus)).isEqualTo(ledger);
        for (Invoice.Line line : invoice.lines()) {
            assertThat(line.amount().amount()).isEqualByComparingTo(line.exactAmount().roundedForInvoice());
        }
        Money subtotal = invoice.lines().stream().map(Invoice.Line::amount).reduce(Money.ZERO, Money::plus);
        assertThat(invoice.subtotal()).isEqualTo(subtotal);
        assertThat(invoice.total()).isEqualTo(subtotal.plus(invoice.tax()));
        BigDecimal bound = new BigDecimal("0.005").multiply(BigDecimal.valueOf(invoice.lines().size()));
        assertThat(subtotal.minus(ledger).amount().abs()).isLessThanOrEqualTo(bound);
        SkuPrice output = billing.catalog.inEffect(period.atDay(1)).get("tokens.output:model-0");
        invoice.lines().stream().filter(line -> line.sku().equals("tokens.output:model-0"))
                .forEach(line -> assertThat(line.exactAmount()).isEqualTo(output.amount(line.quantity())));

        Invoice again = onlyInvoice(billing.invoicing.close(period, true, "property", "req"), tenant);
        assertThat(again.id()).isEqualTo(invoice.id());
        assertThat(billing.ledgerSum(tenant, period)).isEqualTo(ledger);

        // A row for the closed period, written after its close, is the next period's.
        billing.now.set(start.plusSeconds(60L * 60 * 24 * 27));
        billing.call(tenant, "model-0", 1000, 1000, "1", "1");
        assertThat(billing.ledgerSum(tenant, period)).isEqualTo(ledger);
        assertThat(billing.ledgerSum(tenant, period.plusMonths(1))).isEqualTo(Money.of("0.002"));
    }

    private static Invoice onlyInvoice(Invoicing.Run run, TenantId tenant) {
        assertThat(run.invoices()).hasSize(1);
        Invoice invoice = run.invoices().getFirst();
        assertThat(invoice.tenantId()).isEqualTo(tenant);
        return invoice;
    }

    private static void addPrice(BillingHarness billing, String sku, YearMonth period, Catalog catalog) {
        List<SkuCatalog.NewTier> tiers = new ArrayList<>();
        for (int i = 0; i < catalog.unitPrices().size(); i++) {
            tiers.add(new SkuCatalog.NewTier(i < catalog.bounds().size() ? catalog.bounds().get(i) : null, catalog.unitPrices().get(i),
                    catalog.fee()));
        }
        boolean flat = catalog.pricing().equals("flat");
        billing.catalog.add(new SkuCatalog.NewPrice(sku, null, catalog.pricing(), null, flat ? catalog.unitPrices().getFirst() : null,
                flat ? null : tiers, null, period.toString(), period.plusMonths(1).toString()), "property", "req");
    }

    @Provide
    Arbitrary<List<Call>> calls() {
        Arbitrary<BigDecimal> price = Arbitraries.bigDecimals().between(BigDecimal.ZERO, new BigDecimal("30")).ofScale(6);
        return Builders.withBuilder(() -> new Call(0, 0, 0, BigDecimal.ZERO, BigDecimal.ZERO))
                .use(Arbitraries.integers().between(0, 2)).in((call, model) -> new Call(model, call.input(), call.output(), call.inputPrice(), call.outputPrice()))
                .use(Arbitraries.longs().between(0, 3_000_000)).in((call, input) -> new Call(call.model(), input, call.output(), call.inputPrice(), call.outputPrice()))
                .use(Arbitraries.longs().between(0, 3_000_000)).in((call, output) -> new Call(call.model(), call.input(), output, call.inputPrice(), call.outputPrice()))
                .use(price).in((call, input) -> new Call(call.model(), call.input(), call.output(), input, call.outputPrice()))
                .use(price).in((call, output) -> new Call(call.model(), call.input(), call.output(), call.inputPrice(), output))
                .build().list().ofMinSize(0).ofMaxSize(12);
    }

    @Provide
    Arbitrary<Catalog> catalogs() {
        Arbitrary<BigDecimal> unitPrice = Arbitraries.bigDecimals().between(BigDecimal.ZERO, new BigDecimal("5")).ofScale(7);
        Arbitrary<BigDecimal> fee = Arbitraries.bigDecimals().between(BigDecimal.ZERO, new BigDecimal("100")).ofScale(3);
        return Arbitraries.of("flat", "tiered", "volume").flatMap(pricing -> Arbitraries.integers().between(1, 4).flatMap(count -> {
            int tiers = pricing.equals("flat") ? 1 : count;
            Arbitrary<List<BigDecimal>> bounds = Arbitraries.bigDecimals().between(new BigDecimal("0.000001"), new BigDecimal("4"))
                    .ofScale(6).set().ofSize(tiers - 1).map(set -> set.stream().sorted().toList());
            return fee.flatMap(f -> bounds.flatMap(b -> unitPrice.list().ofSize(tiers).map(prices -> new Catalog(pricing, b, prices, f))));
        }));
    }

    /** No credit in about a third of the tries, else whole cents up to 120.00 (more, and less, than most invoices). */
    @Provide
    Arbitrary<BigDecimal> credits() {
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, Arbitraries.just(BigDecimal.ZERO)),
                net.jqwik.api.Tuple.of(2, Arbitraries.bigDecimals().between(new BigDecimal("0.01"), new BigDecimal("120")).ofScale(2)));
    }

    @Provide
    Arbitrary<List<BigDecimal>> storage() {
        return Arbitraries.bigDecimals().between(BigDecimal.ZERO, new BigDecimal("1000")).ofScale(15).list().ofMaxSize(4);
    }
}
