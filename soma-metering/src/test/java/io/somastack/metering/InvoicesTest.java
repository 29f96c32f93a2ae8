package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.YearMonth;
import java.util.Map;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.text.PDFTextStripper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Closing a period over real HTTP: one invoice per tenant equal to its ledger, idempotent runs, documents, and tenant isolation. */
class InvoicesTest {
    private static BillingHarness billing;
    private static String operator;

    @BeforeAll
    static void start() {
        billing = new BillingHarness(Map.of("taxed", new BigDecimal("0.20")));
        operator = billing.gateway.operatorKey();
    }

    @AfterAll
    static void stop() {
        if (billing != null) {
            billing.close();
        }
    }

    private static TestGateway.Response post(String path, String body) {
        return billing.gateway.send("POST", path, operator, body);
    }

    @Test
    void closingAPeriodMakesOneInvoiceEqualToTheLedgerAndASecondRunChangesNothing() {
        billing.at("2026-03-01T00:00:00Z");
        assertThat(post("/v1/admin/prices", """
                {"sku": "platform_fee:standard", "unit_price": "49.00", "effective_from": "2026-03", "effective_to": "2026-04"}""").status())
                .isEqualTo(201);
        assertThat(post("/v1/admin/prices", """
                {"sku": "tokens.output:closing-model", "pricing": "tiered", "effective_from": "2026-03", "effective_to": "2026-04",
                 "tiers": [{"up_to": "1", "unit_price": "0.60"}, {"unit_price": "0.30"}]}""").status()).isEqualTo(201);
        String key = billing.gateway.tenantKey("taxed", "invoices:read");
        TenantId tenant = billing.tenantOf("taxed");
        billing.at("2026-03-10T12:00:00Z");
        for (int i = 0; i < 7; i++) {
            billing.call(tenant, "closing-model", 123_457, 500_001, "0.15", "0.60");
        }
        billing.at("2026-04-01T02:00:00Z");

        TestGateway.Response first = post("/v1/admin/invoices/runs", "{\"period\": \"2026-03\"}");
        assertThat(first.status()).as(first.raw().body()).isEqualTo(200);
        assertThat(first.json().get("invoices_created").asInt()).isGreaterThanOrEqualTo(1);
        JsonNode invoice = billing.gateway.send("GET", "/v1/invoices", key, null).json().get("data").get(0);
        assertThat(invoice.get("status").asString()).isEqualTo("finalized");
        assertThat(invoice.get("number").asString()).matches("INV-\\d{6}");
        assertThat(invoice.get("lines").valueStream().map(line -> line.get("sku").asString()))
                .containsExactly("platform_fee:standard", "tokens.input:closing-model", "tokens.output:closing-model");
        // 3.500007M output tokens: 1M at 0.60, the rest at 0.30 = 1.3500021; input 0.864199M at 0.15 = 0.12962985.
        JsonNode output = invoice.get("lines").get(2);
        assertThat(output.get("exact_amount").asString()).isEqualTo("1.3500021");
        assertThat(output.get("amount").asString()).isEqualTo("1.35");
        assertThat(invoice.get("lines").get(1).get("exact_amount").asString()).isEqualTo("0.12962985");
        assertThat(invoice.get("ledger_total").asString()).isEqualTo("50.47963195");
        assertThat(Money.of(invoice.get("ledger_total").asString())).isEqualTo(billing.ledgerSum(tenant, YearMonth.of(2026, 3)));
        assertThat(invoice.get("subtotal").asString()).isEqualTo("50.48");
        assertThat(invoice.get("tax").asString()).isEqualTo("10.10"); // 50.48 x 0.20 = 10.096
        assertThat(invoice.get("total").asString()).isEqualTo("60.58");

        TestGateway.Response second = post("/v1/admin/invoices/runs", "{\"period\": \"2026-03\"}");
        assertThat(second.json().get("invoices_created").asInt()).isZero();
        assertThat(billing.gateway.send("GET", "/v1/invoices", key, null).json().get("data").size()).isEqualTo(1);
        assertThat(billing.ledgerSum(tenant, YearMonth.of(2026, 3))).isEqualTo(Money.of("50.47963195"));
        JsonNode listed = billing.gateway.send("GET", "/v1/admin/invoices?period=2026-03", operator, null).json();
        assertThat(listed.get("data").valueStream().map(row -> row.get("id").asString())).contains(invoice.get("id").asString());
    }

    @Test
    void aPeriodThatIsNotOverIsA400AndABadPeriodNamesIt() {
        billing.at("2026-05-31T23:59:59Z");
        TestGateway.Response early = post("/v1/admin/invoices/runs", "{\"period\": \"2026-05\"}");
        assertThat(early.status()).isEqualTo(400);
        assertThat(early.json().get("detail").asString()).contains("2026-05 is not over");
        assertThat(post("/v1/admin/invoices/runs", "{\"period\": \"May\"}").json().get("detail").asString()).contains("period must be a month");
        assertThat(billing.gateway.send("GET", "/v1/admin/invoices?period=2026-5", operator, null).status()).isEqualTo(400);
    }

    @Test
    void anotherTenantsInvoiceIsNotFoundInAnyFormat() {
        billing.at("2026-06-02T00:00:00Z");
        billing.gateway.tenantKey("owner-of-invoice", "invoices:read");
        String intruder = billing.gateway.tenantKey("intruder", "invoices:read");
        billing.call(billing.tenantOf("owner-of-invoice"), "m", 1000, 1000, "1", "1");
        billing.at("2026-07-01T05:00:00Z");
        post("/v1/admin/invoices/runs", "{\"period\": \"2026-06\"}");
        String id = billing.invoicing.list(YearMonth.of(2026, 6)).stream()
                .filter(invoice -> invoice.tenantName().equals("owner-of-invoice")).findFirst().orElseThrow().id().orElseThrow().toString();
        for (String path : new String[] {"/v1/invoices/" + id, "/v1/invoices/" + id + ".pdf", "/v1/invoices/" + id + ".csv"}) {
            TestGateway.Response response = billing.gateway.send("GET", path, intruder, null);
            assertThat(response.status()).as(path).isEqualTo(404);
        }
        assertThat(billing.gateway.send("GET", "/v1/invoices/not-a-uuid", intruder, null).status()).isEqualTo(404);
    }

    @Test
    void theUpcomingInvoiceIsTheCurrentPeriodSoFarAsADraft() {
        billing.at("2026-08-01T00:00:00Z");
        post("/v1/admin/prices", "{\"sku\": \"platform_fee:upcoming-tier\", \"unit_price\": \"10\", \"effective_from\": \"2026-08\", \"effective_to\": \"2026-09\"}");
        String key = billing.gateway.tenantKeyInTier("looking-ahead", "upcoming-tier", "invoices:read");
        billing.at("2026-08-20T00:00:00Z");
        billing.call(billing.tenantOf("looking-ahead"), "ahead-model", 2_000_000, 0, "0.5", "0");
        JsonNode upcoming = billing.gateway.send("GET", "/v1/invoices/upcoming", key, null).json();
        assertThat(upcoming.get("status").asString()).isEqualTo("draft");
        assertThat(upcoming.get("id").isNull()).isTrue();
        assertThat(upcoming.get("period").asString()).isEqualTo("2026-08");
        assertThat(upcoming.get("total").asString()).isEqualTo("11.00");
        assertThat(billing.gateway.send("GET", "/v1/invoices/upcoming", billing.gateway.tenantKey("no-scope", "usage:read"), null).status())
                .isEqualTo(403);
    }

    @Test
    void thePdfAndCsvCarryTheLinesAndADraftSaysDraft() throws IOException, InterruptedException {
        billing.at("2026-10-03T00:00:00Z");
        String key = billing.gateway.tenantKey("paper-trail", "invoices:read");
        billing.call(billing.tenantOf("paper-trail"), "paper-model", 1_000_000, 1_000_000, "2", "3");
        billing.at("2026-11-01T01:00:00Z");
        TestGateway.Response drafts = post("/v1/admin/invoices/runs", "{\"period\": \"2026-10\", \"finalize\": false}");
        String id = drafts.json().get("data").valueStream().filter(row -> row.get("tenant_id").asString()
                .equals(billing.tenantOf("paper-trail").toString())).findFirst().orElseThrow().get("id").asString();

        String draftText = pdfText(key, id);
        assertThat(draftText).contains("DRAFT", "Input tokens, paper-model", "Total 5.00 USD");
        String csv = billing.gateway.send("GET", "/v1/invoices/" + id + ".csv", key, null).raw().body();
        assertThat(csv).startsWith("sku,description,pricing,quantity,unit,unit_price,exact_amount,amount,currency\r\n")
                .contains("tokens.output:paper-model,\"Output tokens, paper-model\",ledger,1,1M tokens,,3,3.00,USD")
                .contains("total,Total,,,,,,5.00,USD");

        JsonNode finalized = post("/v1/admin/invoices/" + id + "/finalize", null).json();
        assertThat(finalized.get("status").asString()).isEqualTo("finalized");
        String finalText = pdfText(key, id);
        assertThat(finalText).contains("Invoice " + finalized.get("number").asString()).doesNotContain("DRAFT");
        assertThat(post("/v1/admin/invoices/" + id + "/void", null).json().get("status").asString()).isEqualTo("void");
        assertThat(post("/v1/admin/invoices/" + id + "/finalize", null).status()).isEqualTo(409);
    }

    private static String pdfText(String key, String id) throws IOException, InterruptedException {
        HttpResponse<byte[]> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(billing.gateway.baseUrl() + "/v1/invoices/" + id + ".pdf")).header("Authorization", "Bearer " + key).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/pdf");
        try (PDDocument document = Loader.loadPDF(response.body())) {
            return new PDFTextStripper().getText(document);
        }
    }
}
