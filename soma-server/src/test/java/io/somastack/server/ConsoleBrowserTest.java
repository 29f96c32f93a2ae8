package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import io.somastack.policy.TestCapsules;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.support.ui.WebDriverWait;
import tools.jackson.databind.JsonNode;

/**
 * The web console in a real headless Chromium against the real server: each flow asserts what
 * a person sees, fails on a console error or a serious accessibility violation, and leaves a
 * screenshot per page under {@code target/console-screenshots/}. One browser for the class.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {
    private static TestServer soma;
    private static TestBrowser browser;

    @BeforeAll
    static void start() {
        soma = TestServer.start("""
                prices:
                  - model: local
                    input_per_million: "1.5"
                    output_per_million: "2.25"
                """);
        browser = TestBrowser.start(soma.base);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.close();
        }
        if (soma != null) {
            soma.close();
        }
    }

    @Test
    @Order(1)
    void aTenantSignsInSeesTheOverviewAndSignsOut() {
        String key = soma.key(soma.tenant("sign-in-co", ",\"monthly_budget\":\"50\""), "{}");
        browser.open("/console", "console-signed-out");
        assertThat(browser.find("h1").getText()).isEqualTo("Sign in");

        browser.signIn(key);
        assertThat(browser.path()).isEqualTo("/console/overview");
        browser.check("overview-empty");
        assertThat(browser.text("#month-calls")).isEqualTo("0");
        assertThat(browser.find("main").getText()).contains("Budget 50.00 USD").contains("forecast at month end");
        assertThat(browser.driver.getPageSource()).doesNotContain(key);

        browser.signOut();
        assertThat(browser.path()).isEqualTo("/console/sign-in");
        browser.open("/console/overview", "overview-after-sign-out");
        assertThat(browser.path()).isEqualTo("/console/sign-in");
    }

    @Test
    @Order(2)
    void aWrongKeyIsRefusedOnTheSignInPage() {
        browser.signIn("sk-soma-not-a-key");
        browser.check("sign-in-refused");
        assertThat(browser.path()).isEqualTo("/console/sign-in");
        assertThat(browser.text(".error")).contains("not a valid API key");
    }

    @Test
    @Order(3)
    void theOperatorCreatesATenantAndAKeyThatIsShownOnceThenUsesIt() {
        browser.signIn(TestServer.ADMIN_KEY);
        assertThat(browser.path()).isEqualTo("/console/tenants");
        browser.check("tenants");
        browser.submit("form[action='/console/tenants']", Map.of("name", "browser-co", "budget", "25.50"));
        browser.check("tenant");
        assertThat(browser.find("h1").getText()).isEqualTo("Tenant browser-co");
        assertThat(browser.find("main").getText()).contains("25.50 USD");

        String tenantPage = browser.path();
        browser.submit("form[action$='/keys']", Map.of("key-name", "laptop"));
        browser.check("key-created");
        String secret = browser.text("#new-key");
        assertThat(secret).startsWith("sk-soma-");
        assertThat(browser.text("#keys")).contains("laptop");
        browser.open(tenantPage, "tenant-after-key");
        assertThat(browser.driver.findElements(By.id("new-key"))).as("the key is shown once").isEmpty();
        assertThat(browser.driver.getPageSource()).doesNotContain(secret);
        browser.signOut();

        // A chat call with the new key appears in Usage and on the Overview, with the ledger's exact totals.
        TestServer.Response chat = soma.post("/v1/chat/completions", secret, """
                {"model":"local","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":8}""");
        assertThat(chat.status()).as(chat.body()).isEqualTo(200);
        browser.signIn(secret);
        browser.check("overview-after-call");
        // One call; its answer's egress row is usage but no call.
        assertThat(browser.text("#month-calls")).isEqualTo("1");
        assertThat(browser.find("#usage-chart").getAttribute("data-rendered")).isEqualTo("true");
        assertThat(browser.find("#usage-chart canvas").isDisplayed()).isTrue();

        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        String period = "from=%s&to=%s".formatted(today.withDayOfMonth(1), today.plusDays(1));
        for (String groupBy : new String[] {"model", "key", "day"}) {
            browser.open("/console/usage?%s&group_by=%s".formatted(period, groupBy), "usage-by-" + groupBy);
            JsonNode ledger = soma.get("/v1/usage?%s&group_by=%s".formatted(period, groupBy), secret).json();
            assertThat(new BigDecimal(browser.text("#total-cost"))).as("total cost by " + groupBy)
                    .isEqualByComparingTo(new BigDecimal(ledger.get("total_cost").asString()));
            long calls = 0;
            long input = 0;
            for (JsonNode row : ledger.get("data")) {
                calls += row.get("calls").asLong();
                input += row.get("input_tokens").asLong();
            }
            assertThat(browser.text("#total-calls")).isEqualTo(Long.toString(calls));
            assertThat(browser.text("#total-input")).isEqualTo(Long.toString(input));
            if (groupBy.equals("model")) {
                assertThat(browser.text("#usage-table")).contains("local");
            }
        }
        browser.signOut();
    }

    @Test
    @Order(4)
    void theOperatorVerifiesTheAuditChain() {
        browser.signIn(TestServer.ADMIN_KEY);
        browser.open("/console/health", "health");
        browser.click(browser.find("form[action='/console/audit/verify'] button"));
        browser.check("audit-verified");
        assertThat(browser.text("#audit-result")).startsWith("Audit chain intact").contains("entries checked");
        browser.click(browser.find("a[href='/console/audit']"));
        browser.submit("form[action='/console/audit']", Map.of("text", "tenant"));
        browser.check("audit-search");
        assertThat(browser.text("#audit")).contains("tenant.create").contains("operator");
        browser.signOut();
    }

    @Test
    @Order(5)
    void aFormWithoutItsCsrfTokenIsRefused() {
        browser.signIn(TestServer.ADMIN_KEY);
        String cookie = "soma_console=" + browser.sessionCookie().getValue();
        TestServer.Response refused = soma.send("POST", "/console/tenants", null, "name=forged-co",
                "Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie);
        TestServer.assertProblem(refused, 403, "csrf-token-invalid");
        TestServer.Response wrong = soma.send("POST", "/console/tenants", null, "name=forged-co&csrf=guess",
                "Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie);
        TestServer.assertProblem(wrong, 403, "csrf-token-invalid");
        assertThat(soma.get("/v1/admin/tenants", TestServer.ADMIN_KEY).body()).doesNotContain("forged-co");
        browser.signOut();
    }

    @Test
    @Order(6)
    void anotherTenantsObjectsAreNotReachableByUrl() {
        String mine = soma.key(soma.tenant("mine-co", ""), "{}");
        String otherTenant = soma.tenant("other-co", "");
        String otherKey = soma.key(otherTenant, "{}");
        assertThat(soma.post("/v1/chat/completions", otherKey, """
                {"model":"local","messages":[{"role":"user","content":"Hello"}],"max_tokens":4}""").status()).isEqualTo(200);
        String otherKeyId = soma.get("/v1/admin/tenants/%s/keys".formatted(otherTenant), TestServer.ADMIN_KEY).json()
                .get("data").get(0).get("id").asString();

        browser.signIn(mine);
        browser.open("/console/usage?key=" + otherKeyId, "usage-other-tenants-key");
        assertThat(browser.text("#no-usage")).isEqualTo("No usage in this period.");
        String cookie = "soma_console=" + browser.sessionCookie().getValue();
        TestServer.Response tenantPage = soma.send("GET", "/console/tenants/" + otherTenant, null, null, "Cookie", cookie);
        TestServer.assertProblem(tenantPage, 403, "admin-required");
        TestServer.Response csv = soma.send("GET", "/console/usage.csv?key=" + otherKeyId, null, null, "Cookie", cookie);
        assertThat(csv.body().lines().count()).as(csv.body()).isEqualTo(1);
        browser.signOut();
    }

    @Test
    @Order(7)
    void aSessionEndsAtSignOutAndAtExpiry() throws SQLException {
        String key = soma.key(soma.tenant("expiry-co", ""), "{}");
        browser.signIn(key);
        String cookie = "soma_console=" + browser.sessionCookie().getValue();
        assertThat(soma.send("GET", "/console/overview", null, null, "Cookie", cookie).status()).isEqualTo(200);
        try (Connection database = DriverManager.getConnection(soma.databaseUrl, "postgres", "")) {
            database.createStatement().executeUpdate("UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE ended_at IS NULL");
        }
        browser.open("/console/overview", "overview-after-expiry");
        assertThat(browser.path()).isEqualTo("/console/sign-in");
        assertThat(soma.send("GET", "/console/overview", null, null, "Cookie", cookie).status()).isEqualTo(303);

        browser.signIn(key);
        String second = "soma_console=" + browser.sessionCookie().getValue();
        browser.signOut();
        TestServer.Response afterSignOut = soma.send("GET", "/console/overview", null, null, "Cookie", second);
        assertThat(afterSignOut.status()).isEqualTo(303);
        assertThat(afterSignOut.header("Location")).isEqualTo("/console/sign-in");
    }

    @Test
    @Order(8)
    void aPolicyWithACompileErrorIsShownAtTheExpressionThenFixedAndEvaluated() {
        String key = soma.key(soma.tenant("policy-co", ""), "{}");
        browser.signIn(key);
        browser.open("/console/policies", "policies");
        browser.submit("form[action='/console/policies']", Map.of("name", "small-models", "expression", "model.id ==",
                "message", "only the local model"));
        browser.check("policy-compile-error");
        assertThat(browser.text("#expression-error")).contains("validations[0]");
        assertThat(browser.find("#expression").getAttribute("aria-invalid")).isEqualTo("true");
        assertThat(soma.get("/v1/policies", key).json().get("data")).isEmpty();

        browser.submit("form[action='/console/policies']", Map.of("expression", "has(model.id) && model.id == 'local'"));
        browser.check("policy-saved");
        assertThat(browser.text("#saved")).isEqualTo("Saved small-models, version 1.");
        assertThat(browser.text("#policies")).contains("small-models").contains("runtime");
        assertThat(soma.get("/v1/policies/small-models", key).json().get("version").asInt()).isEqualTo(1);

        browser.fill(Map.of("name", "small-models", "expression", "has(model.id) && model.id == 'local'", "message", "only the local model",
                "input", "{\"model\": {\"id\": \"gpt-4o\"}}"));
        browser.click(browser.find("button[formaction='/console/policies/evaluate']"));
        browser.check("policy-evaluated");
        assertThat(browser.text("#trial")).isEqualTo("Denied: only the local model");
        browser.signOut();
    }

    @Test
    @Order(9)
    void aRecalledMemoryShowsItsScoreAndProvenanceAndIsForgottenAfterConfirmation() {
        String key = soma.key(soma.tenant("memory-co", ""), "{}");
        TestServer.Response remembered = soma.post("/v1/memories", key, """
                {"text": "Ada prefers green tea in the afternoon", "scope": {"kind": "tenant"},
                 "provenance": {"kind": "user", "reference": "chat-7", "author": "ada"}}""");
        assertThat(remembered.status()).as(remembered.body()).isIn(200, 201);
        browser.signIn(key);
        browser.open("/console/memory", "memory");
        browser.submit("form[action='/console/memory']", Map.of("q", "what does Ada drink"));
        browser.check("memory-recalled");
        assertThat(browser.text("#facts")).contains("Ada prefers green tea in the afternoon").contains("user chat-7 by ada");
        assertThat(browser.find("#facts tbody td").getText()).matches("0\\.\\d{4}");

        browser.click(browser.find("#facts tbody a"));
        browser.check("memory-revisions");
        String memoryPath = browser.path();
        assertThat(browser.text("#revisions")).contains("Ada prefers green tea");
        browser.fill(Map.of("reason", "asked to be forgotten"));
        // Without the ticked confirmation the browser does not even send the form; sent anyway, the server refuses it too.
        String cookie = "soma_console=" + browser.sessionCookie().getValue();
        String csrf = browser.find("form[action$='/forget'] input[name=csrf]").getAttribute("value");
        TestServer.Response unconfirmed = soma.send("POST", memoryPath + "/forget", null, "reason=x&csrf=" + csrf,
                "Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie);
        assertThat(unconfirmed.body()).contains("Tick the confirmation");
        browser.find("#confirm").click();
        browser.click(browser.find("form[action$='/forget'] button"));
        browser.check("memory-forgotten");
        assertThat(browser.text("#forgotten")).startsWith("Forgotten at");
        assertThat(browser.text("#revisions")).contains("(erased)").doesNotContain("green tea");
        browser.signOut();
    }

    @Test
    @Order(10)
    void pagesCarryAStrictContentSecurityPolicyAndASafeCookie() {
        TestServer.Response page = soma.get("/console/sign-in", null);
        assertThat(page.header("Content-Security-Policy")).contains("script-src 'self'").contains("style-src 'self'")
                .doesNotContain("unsafe-inline").contains("frame-ancestors 'none'");
        assertThat(page.header("Set-Cookie")).contains("HttpOnly").contains("SameSite=Strict");
        assertThat(page.body()).doesNotContain("<script>").doesNotContain("style=");
    }

    @Test
    @Order(11)
    void aCapsuleIsFoundShowsItsBadgesAndIsDeniedByAPolicyThenInstalledOnceItsSignerIsTrusted() {
        // A publisher tenant publishes a signed capsule through the JSON API.
        Published acme = publishSigned("acme-publishing", "Acme release key", "desk-helper", "acme", "Answers help-desk questions",
                List.of("support", "helpdesk"));
        SigningKeys publisher = acme.keys();
        String trustPublisher = acme.trust();

        // Another tenant requires a trusted publisher's signature, and does not trust this one yet.
        String key = tenantRequiringATrustedSigner("shop-co");
        browser.signIn(key);
        browser.open("/console/marketplace", "marketplace");
        browser.submit("form[action='/console/marketplace']", Map.of("q", "help desk"));
        browser.check("marketplace-search");
        assertThat(browser.text("#capsules")).contains("desk-helper").contains("acme").contains("1.0.0").contains("MIT").contains("helper-basic");
        assertThat(browser.text("#facet-tag")).contains("support").contains("helpdesk");
        assertThat(browser.text("#facet-license")).contains("MIT");
        browser.click(browser.find("#facet-tag a"));
        browser.check("marketplace-facet");
        assertThat(browser.path()).isEqualTo("/console/marketplace");
        assertThat(browser.text("#capsules")).contains("desk-helper");

        browser.click(browser.find("#capsules tbody a"));
        browser.check("marketplace-capsule");
        assertThat(browser.path()).isEqualTo("/console/marketplace/desk-helper");
        assertThat(browser.text("#description")).isEqualTo("Answers help-desk questions");
        assertThat(browser.text("#price-sku")).isEqualTo("helper-basic");
        assertThat(browser.text("#badge-signed")).isEqualTo("Signed");
        assertThat(browser.text("#badge-trusted")).isEqualTo("Signer not trusted by this tenant");
        assertThat(browser.text("#badge-sbom")).isEqualTo("SBOM verified");
        assertThat(browser.text("#badge-revoked")).isEqualTo("Not revoked");
        assertThat(browser.text("#signatures")).contains("Acme release key").contains("publisher").contains(publisher.keyId());
        assertThat(browser.text("#sbom")).contains("is-number");
        assertThat(browser.text("#versions")).contains("1.0.0").contains("installable");
        assertThat(browser.text("#ranking")).contains("no runs yet");

        browser.click(browser.find("form[action='/console/marketplace/desk-helper/install'] button"));
        browser.check("marketplace-denied");
        assertThat(browser.text("#denied-policy")).isEqualTo("trusted-signer");
        assertThat(browser.text("#denied-message")).contains("a trusted publisher must sign");
        String decision = browser.text("#denied-decision");
        TestServer.Response decisions = soma.get("/v1/decisions?capsule=desk-helper", key);
        assertThat(decisions.json().get("data").get(0).get("decision_id").asString()).isEqualTo(decision);
        assertThat(soma.get("/v1/installed-capsules/desk-helper", key).status()).isEqualTo(404);

        // Once the tenant trusts the signer, the badge says so and admission lets the install through.
        assertThat(soma.post("/v1/policy/trusted-keys", key, trustPublisher).status()).isEqualTo(201);
        browser.open("/console/marketplace/desk-helper", "marketplace-trusted");
        assertThat(browser.text("#badge-trusted")).isEqualTo("Signer trusted by this tenant");
        browser.click(browser.find("form[action='/console/marketplace/desk-helper/install'] button"));
        browser.check("marketplace-installed");
        assertThat(browser.text("#installed")).startsWith("Installed at version 1.0.0");
        assertThat(soma.get("/v1/installed-capsules/desk-helper", key).json().get("version").asString()).isEqualTo("1.0.0");

        // A newer version signed by the same trusted key is offered as an update and goes through admission; one signed
        // only by a key this tenant does not trust is denied, and the install stays where it was.
        publishVersion(acme, "desk-helper", "1.1.0", "acme", "Answers help-desk questions", List.of("support", "helpdesk"), publisher);
        browser.open("/console/marketplace/desk-helper", "marketplace-update");
        browser.click(browser.find("form[action='/console/marketplace/desk-helper/update'] button"));
        assertThat(browser.text("#installed")).startsWith("Installed at version 1.1.0");
        assertThat(browser.driver.findElements(By.cssSelector("form[action='/console/marketplace/desk-helper/update']"))).isEmpty();
        SigningKeys stranger = Signatures.generate();
        assertThat(soma.post("/v1/policy/trusted-keys", acme.publisherKey(), Json.text(Map.of("name", "Acme stranger key", "role", "publisher",
                "public_key_pem", stranger.publicKeyPem()))).status()).isEqualTo(201);
        publishVersion(acme, "desk-helper", "1.2.0", "acme", "Answers help-desk questions", List.of("support", "helpdesk"), stranger);
        browser.open("/console/marketplace/desk-helper", "marketplace-update-offered");
        browser.click(browser.find("form[action='/console/marketplace/desk-helper/update'] button"));
        browser.check("marketplace-update-denied");
        assertThat(browser.text("#denied-policy")).isEqualTo("trusted-signer");
        assertThat(browser.text("#installed")).startsWith("Installed at version 1.1.0");
        assertThat(soma.get("/v1/installed-capsules/desk-helper", key).json().get("version").asString()).isEqualTo("1.1.0");

        // The installed agent is listed; a run of it (by the local model) shows its stored events and its verified provenance.
        browser.open("/console/agents", "agents");
        assertThat(browser.text("#agents")).contains("desk-helper").contains("1.1.0").contains("runnable");
        TestServer.Response ran = soma.post("/v1/agents/desk-helper/runs", key, "{\"input\": \"Where is the printer?\"}");
        assertThat(ran.status()).as(ran.body()).isEqualTo(200);
        String run = ran.json().get("id").asString();
        assertThat(ran.json().get("status").asString()).isEqualTo("completed");
        browser.submit("form[action='/console/agents']", Map.of("run", run));
        browser.check("run");
        assertThat(browser.path()).isEqualTo("/console/runs/" + run);
        assertThat(browser.text("#run-status")).isEqualTo("completed");
        assertThat(browser.text("#run-input")).isEqualTo("Where is the printer?");
        assertThat(browser.text("#events")).contains("run.started").contains("run.completed");
        assertThat(browser.find("#events tbody").findElements(By.tagName("tr"))).hasSize(soma.get("/v1/runs/" + run, key).json().get("last_event_id").asInt());
        assertThat(browser.text("#provenance")).isEqualTo("Provenance verified against /v1/provenance/jwks.json");
        browser.signOut();
    }

    @Test
    @Order(20)
    void reloadingTheAnswerToAKeysCreationShowsItOnceAndNeverCreatesASecondKey() throws SQLException {
        String tenant = soma.tenant("reload-co", "");
        browser.signIn(TestServer.ADMIN_KEY);
        browser.open("/console/tenants/" + tenant, "reload-tenant");
        browser.submit("form[action$='/keys']", Map.of("key-name", "once"));
        browser.check("reload-key-created");
        assertThat(browser.path()).startsWith("/console/created-keys/");
        String secret = browser.text("#new-key");
        assertThat(secret).startsWith("sk-soma-");
        String createdPage = browser.path();

        browser.driver.navigate().refresh();
        browser.check("reload-key-reloaded");
        assertThat(browser.path()).isEqualTo(createdPage);
        assertThat(browser.driver.findElements(By.id("new-key"))).as("the key is shown once").isEmpty();
        assertThat(browser.text("#key-already-shown")).contains("was already shown");
        assertThat(browser.driver.getPageSource()).doesNotContain(secret);
        JsonNode keys = soma.get("/v1/admin/tenants/%s/keys".formatted(tenant), TestServer.ADMIN_KEY).json().get("data");
        assertThat(keys).as(keys.toString()).hasSize(1);
        assertThat(keys.get(0).get("name").asString()).isEqualTo("once");
        try (Connection database = DriverManager.getConnection(soma.databaseUrl, "postgres", "")) {
            var held = database.createStatement().executeQuery(
                    "SELECT count(*) FILTER (WHERE sealed IS NOT NULL), count(*) FROM console_created_keys WHERE tenant_id = '%s'".formatted(tenant));
            held.next();
            assertThat(held.getInt(1)).as("the sealed secret is erased once shown").isZero();
            assertThat(held.getInt(2)).isEqualTo(1);
        }
        // Another session (even the operator's) does not find the link.
        browser.signOut();
        browser.signIn(TestServer.ADMIN_KEY);
        TestServer.Response elsewhere = soma.send("GET", createdPage, null, null, "Cookie", "soma_console=" + browser.sessionCookie().getValue());
        TestServer.assertProblem(elsewhere, 404, "not-found");
        browser.signOut();
    }

    @Test
    @Order(21)
    void aTenantSeesItsInvoicesWithLinesTotalsAndPdfButNeverAnotherTenants() throws SQLException {
        String tenant = soma.tenant("invoice-co", "");
        String other = soma.tenant("other-invoice-co", "");
        String key = soma.key(tenant, "{}");
        YearMonth last = YearMonth.now(ZoneOffset.UTC).minusMonths(1);
        // Both tenants existed last month (an invoice covers the tenants created before its period's end), and pay a platform fee.
        try (Connection database = DriverManager.getConnection(soma.databaseUrl, "postgres", "")) {
            database.createStatement().executeUpdate("UPDATE tenants SET created_at = '%sT00:00:00Z' WHERE id IN ('%s', '%s')"
                    .formatted(last.atDay(1), tenant, other));
        }
        TestServer.Response price = soma.post("/v1/admin/prices", TestServer.ADMIN_KEY, """
                {"sku": "platform_fee:standard", "unit_price": "49.00", "effective_from": "%s", "effective_to": "%s"}"""
                .formatted(last, last.plusMonths(1)));
        assertThat(price.status()).as(price.body()).isEqualTo(201);
        TestServer.Response closed = soma.post("/v1/admin/invoices/runs", TestServer.ADMIN_KEY,
                "{\"period\": \"%s\", \"finalize\": false}".formatted(last));
        assertThat(closed.status()).as(closed.body()).isEqualTo(200);
        JsonNode mine = soma.get("/v1/invoices", key).json().get("data").get(0);
        String otherId = null;
        for (JsonNode invoice : closed.json().get("data")) {
            if (invoice.get("tenant_id").asString().equals(other)) {
                otherId = invoice.get("id").asString();
            }
        }
        assertThat(otherId).isNotNull();

        browser.signIn(key);
        browser.click(browser.find("a[href='/console/invoices']"));
        browser.check("invoices");
        assertThat(browser.text("#invoices")).contains("Draft " + last).contains("draft").contains(mine.get("total").asString() + " USD");
        browser.click(browser.find("#invoices tbody a"));
        browser.check("invoice");
        assertThat(browser.path()).isEqualTo("/console/invoices/" + mine.get("id").asString());
        assertThat(browser.text("#draft")).startsWith("DRAFT");
        assertThat(browser.text("#invoice-state")).isEqualTo("draft");
        assertThat(browser.text("#invoice-lines")).contains("platform_fee:standard").contains("49.00");
        assertThat(browser.find("#invoice-lines tbody").findElements(By.tagName("tr"))).hasSize(mine.get("lines").size());
        assertThat(browser.text("#invoice-subtotal")).isEqualTo(mine.get("subtotal").asString());
        assertThat(browser.text("#invoice-tax")).isEqualTo(mine.get("tax").asString());
        assertThat(browser.text("#invoice-total")).isEqualTo(mine.get("total").asString()).isEqualTo("49.00");

        String cookie = "soma_console=" + browser.sessionCookie().getValue();
        TestServer.Response pdf = soma.send("GET", browser.find("#invoice-pdf").getAttribute("href").replace(soma.base, ""), null, null,
                "Cookie", cookie);
        assertThat(pdf.status()).isEqualTo(200);
        assertThat(pdf.header("Content-Type")).startsWith("application/pdf");
        assertThat(pdf.body()).startsWith("%PDF-");
        // Another tenant's invoice, its PDF and a made-up id are not found.
        TestServer.assertProblem(soma.send("GET", "/console/invoices/" + otherId, null, null, "Cookie", cookie), 404, "not-found");
        TestServer.assertProblem(soma.send("GET", "/console/invoices/%s.pdf".formatted(otherId), null, null, "Cookie", cookie), 404, "not-found");
        TestServer.assertProblem(soma.send("GET", "/console/invoices/not-an-id", null, null, "Cookie", cookie), 404, "not-found");
        browser.signOut();
    }

    @Test
    @Order(22)
    void theOperatorSeesTheSigningKeysWithoutPrivateHalvesAndRotatesThem() throws SQLException {
        browser.signIn(TestServer.ADMIN_KEY);
        browser.click(browser.find("a[href='/console/signing-keys']"));
        browser.check("signing-keys");
        assertThat(browser.text("#session-keys")).contains("ES256").contains("active");
        assertThat(browser.text("#provenance-keys")).contains("ES256").contains("active");
        String sessionKid = activeKid("#session-keys");
        String provenanceKid = activeKid("#provenance-keys");
        assertThat(soma.get("/.well-known/jwks.json", null).body()).contains(sessionKid);
        assertThat(soma.get("/v1/provenance/jwks.json", null).body()).contains(provenanceKid);
        assertNoPrivateHalf();

        // Without the form's CSRF token, nothing rotates.
        TestServer.assertProblem(soma.send("POST", "/console/signing-keys/rotate", null, "set=sessions", "Content-Type",
                "application/x-www-form-urlencoded", "Cookie", "soma_console=" + browser.sessionCookie().getValue()), 403, "csrf-token-invalid");
        assertThat(activeKid("#session-keys")).isEqualTo(sessionKid);

        browser.click(browser.find("#rotate-sessions"));
        browser.check("signing-keys-rotated-sessions");
        assertThat(browser.path()).isEqualTo("/console/signing-keys");
        String newSessionKid = activeKid("#session-keys");
        assertThat(newSessionKid).isNotEqualTo(sessionKid);
        assertThat(browser.text("#session-keys")).contains(sessionKid + " ES256").contains("retired");
        assertThat(soma.get("/.well-known/jwks.json", null).body()).contains(newSessionKid);

        browser.click(browser.find("#rotate-provenance"));
        browser.check("signing-keys-rotated-provenance");
        String newProvenanceKid = activeKid("#provenance-keys");
        assertThat(newProvenanceKid).isNotEqualTo(provenanceKid);
        assertThat(browser.text("#provenance-keys")).contains(provenanceKid);
        assertThat(soma.get("/v1/provenance/jwks.json", null).body()).contains(newProvenanceKid).contains(provenanceKid);
        assertNoPrivateHalf();
        browser.signOut();
    }

    /** The kid of the one active row of a signing-key table. */
    private static String activeKid(String table) {
        List<String> active = browser.find(table).findElements(By.cssSelector("tbody tr")).stream()
                .filter(row -> row.findElements(By.tagName("td")).get(2).getText().equals("active"))
                .map(row -> row.findElement(By.tagName("th")).getText()).toList();
        assertThat(active).as("one active key in " + table).hasSize(1);
        return active.getFirst();
    }

    /** No private key's "d" parameter is on the page. */
    private static void assertNoPrivateHalf() throws SQLException {
        String page = browser.driver.getPageSource();
        try (Connection database = DriverManager.getConnection(soma.databaseUrl, "postgres", "")) {
            var keys = database.createStatement().executeQuery(
                    "SELECT private_jwk::json->>'d' FROM signing_keys UNION ALL SELECT private_jwk::json->>'d' FROM agent_provenance_keys");
            int checked = 0;
            while (keys.next()) {
                assertThat(page).doesNotContain(keys.getString(1));
                checked++;
            }
            assertThat(checked).isPositive();
        }
    }

    @Test
    @Order(23)
    void theAdmissionBadgeIsADryRunAndAnInstalledAgentRunsLiveFromItsPage() {
        String trustPublisher = publishSigned("live-publishing", "Live release key", "live-helper", "live", "Answers questions live",
                List.of("support")).trust();
        String key = tenantRequiringATrustedSigner("live-co");

        // The badge asks admission without recording a decision.
        browser.signIn(key);
        browser.open("/console/marketplace/live-helper", "badge-denied");
        assertThat(browser.text("#badge-admitted")).isEqualTo("Denied by this tenant's policy trusted-signer: a trusted publisher must sign");
        assertThat(browser.find("#badge-admitted").getAttribute("class")).contains("bad");
        assertThat(soma.get("/v1/decisions", key).json().get("data")).as("the dry run records no decision").isEmpty();
        assertThat(soma.post("/v1/policy/trusted-keys", key, trustPublisher).status()).isEqualTo(201);
        browser.open("/console/marketplace/live-helper", "badge-admitted");
        assertThat(browser.text("#badge-admitted")).isEqualTo("Admitted by this tenant's policies");
        assertThat(soma.get("/v1/decisions", key).json().get("data")).isEmpty();
        browser.click(browser.find("form[action='/console/marketplace/live-helper/install'] button"));
        assertThat(browser.text("#installed")).startsWith("Installed at version 1.0.0");
        assertThat(soma.get("/v1/decisions", key).json().get("data")).hasSize(1);

        // From the installed agent's page, a form starts a run; its page follows it live and verifies its provenance at the end.
        browser.open("/console/agents", "live-agents");
        browser.click(browser.find("#agents a[href='/console/agents/live-helper']"));
        browser.check("live-agent");
        assertThat(browser.text("#agent-version")).isEqualTo("1.0.0");
        browser.submit("form[action='/console/agents/live-helper/runs']", Map.of("input", "Where is the printer?"));
        assertThat(browser.path()).startsWith("/console/runs/");
        String run = browser.path().substring("/console/runs/".length());
        new WebDriverWait(browser.driver, Duration.ofSeconds(120)).ignoring(WebDriverException.class).until(driver ->
                "completed".equals(driver.findElement(By.id("run-status")).getText())
                        && driver.findElement(By.id("provenance")).getText().startsWith("Provenance verified"));
        browser.check("live-run");
        assertThat(browser.text("#run-input")).isEqualTo("Where is the printer?");
        assertThat(browser.text("#events")).contains("run.started").contains("run.completed");
        int events = soma.get("/v1/runs/" + run, key).json().get("last_event_id").asInt();
        assertThat(browser.find("#events tbody").findElements(By.tagName("tr"))).hasSize(events);
        assertThat(browser.text("#provenance")).isEqualTo("Provenance verified against /v1/provenance/jwks.json");

        // The page's stream, as the browser's EventSource reads it under the page's CSP with the session cookie: every event, in order.
        @SuppressWarnings("unchecked")
        List<String> streamed = (List<String>) browser.driver.executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                const seen = [];
                const source = new EventSource('/console/runs/%s/events');
                ['run.started', 'model.delta', 'model.completed', 'tool.started', 'tool.delta', 'tool.completed', 'tool.failed',
                 'memory.recalled', 'memory.remembered', 'run.completed'].forEach(type => source.addEventListener(type, event => {
                  seen.push(event.lastEventId + ' ' + event.type);
                  if (event.type === 'run.completed') { source.close(); done(seen); }
                }));
                source.onerror = () => { source.close(); done(seen.concat(['error'])); };""".formatted(run));
        assertThat(streamed).hasSize(events).startsWith("1 run.started").endsWith(events + " run.completed");
        String cookie = "soma_console=" + browser.sessionCookie().getValue();
        TestServer.Response after = soma.send("GET", "/console/runs/%s/events?after=%d".formatted(run, events - 1), null, null, "Cookie", cookie);
        assertThat(after.header("Content-Type")).startsWith("text/event-stream");
        assertThat(after.body()).startsWith("event: run.completed\nid: %d\ndata: ".formatted(events)).doesNotContain("run.started");
        browser.signOut();

        // Another tenant's session does not reach the run, nor its stream.
        browser.signIn(soma.key(soma.tenant("not-live-co", ""), "{}"));
        String stranger = "soma_console=" + browser.sessionCookie().getValue();
        TestServer.assertProblem(soma.send("GET", "/console/runs/%s/events".formatted(run), null, null, "Cookie", stranger), 404, "not-found");
        TestServer.assertProblem(soma.send("GET", "/console/agents/live-helper", null, null, "Cookie", stranger), 404, "not-found");
        browser.signOut();
    }

    /** A publisher's signing keys, and the body of {@code POST /v1/policy/trusted-keys} that trusts them. */
    private record Published(SigningKeys keys, String trust, String publisherKey) {
    }

    /** A new publisher tenant publishes {@code name} 1.0.0 (MIT, SKU helper-basic) signed with a new key, through the JSON API. */
    private static Published publishSigned(String publisherTenant, String signerName, String name, String publisher, String description,
            List<String> tags) {
        SigningKeys keys = Signatures.generate();
        String trust = Json.text(Map.of("name", signerName, "role", "publisher", "public_key_pem", keys.publicKeyPem()));
        String publisherKey = soma.key(soma.tenant(publisherTenant, ""), "{}");
        assertThat(soma.post("/v1/policy/trusted-keys", publisherKey, trust).status()).isEqualTo(201);
        Published published = new Published(keys, trust, publisherKey);
        publishVersion(published, name, "1.0.0", publisher, description, tags, keys);
        return published;
    }

    /** The publisher of {@code published} publishes {@code version} of {@code name} signed with {@code signer}. */
    private static void publishVersion(Published published, String name, String version, String publisher, String description,
            List<String> tags, SigningKeys signer) {
        byte[] bundle = TestCapsules.zip(TestCapsules.files(TestCapsules.listing(name, version, publisher, description, tags, "MIT", "helper-basic"),
                TestCapsules.sbom("is-number.cdx.json")));
        soma.publishSigned(published.publisherKey(), bundle, signer);
    }

    /** A new tenant whose admission policy requires a trusted publisher's signature; returns its API key. */
    private static String tenantRequiringATrustedSigner(String tenantName) {
        String key = soma.key(soma.tenant(tenantName, ""), "{}");
        assertThat(soma.post("/v1/policies", key, """
                {"name": "trusted-signer", "kind": "admission", "matchConditions": [],
                 "validations": [{"expression": "signatures.keys.exists(k, k.role == 'publisher')", "message": "a trusted publisher must sign"}]}""")
                .status()).isEqualTo(201);
        return key;
    }
}
