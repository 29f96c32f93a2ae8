package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A real headless Chromium (Debian's {@code chromium} and {@code chromium-driver}) driven by
 * Selenium, one per test class. {@link #open} loads a page, saves its screenshot under
 * {@code target/console-screenshots/}, fails on any browser console error, and runs axe-core
 * (from its webjar) on it, failing on serious or critical violations. Without the browser the
 * test is skipped with the reason, except under {@code CI=true}, where it fails.
 */
final class TestBrowser implements AutoCloseable {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SCREENSHOTS = Path.of("target", "console-screenshots");

    final ChromeDriver driver;
    private final String base;
    private final Path profile;
    private final String axe;

    private TestBrowser(ChromeDriver driver, String base, Path profile, String axe) {
        this.driver = driver;
        this.base = base;
        this.profile = profile;
        this.axe = axe;
    }

    static TestBrowser start(String base) {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            String reason = "Chromium is not installed (%s, %s): apt-get install chromium chromium-driver".formatted(CHROMIUM, CHROMEDRIVER);
            if ("true".equals(System.getenv("CI"))) {
                fail("The browser tests need Chromium on CI: " + reason);
            }
            abort("Skipped: " + reason);
        }
        try {
            Path profile = Files.createTempDirectory("soma-chromium");
            ChromeOptions options = new ChromeOptions();
            options.setBinary(CHROMIUM.toFile());
            options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1280,900", "--user-data-dir=" + profile);
            LoggingPreferences logs = new LoggingPreferences();
            logs.enable(LogType.BROWSER, Level.ALL);
            options.setCapability("goog:loggingPrefs", logs);
            ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
            ChromeDriver driver = new ChromeDriver(service, options);
            driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30)).scriptTimeout(Duration.ofSeconds(30));
            String axe;
            try (InputStream in = TestBrowser.class.getClassLoader().getResourceAsStream("META-INF/resources/webjars/axe-core/4.6.3/axe.min.js")) {
                assertThat(in).as("axe-core's webjar").isNotNull();
                axe = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            Files.createDirectories(SCREENSHOTS);
            return new TestBrowser(driver, base, profile, axe);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Loads {@code path} and checks the page (screenshot {@code name}, console, accessibility). */
    TestBrowser open(String path, String name) {
        driver.get(base + path);
        return check(name);
    }

    /** Checks the page the browser shows now: its screenshot, no console error, no serious accessibility violation. */
    TestBrowser check(String name) {
        screenshot(name);
        List<String> errors = new ArrayList<>();
        for (LogEntry entry : driver.manage().logs().get(LogType.BROWSER)) {
            if (entry.getLevel().intValue() >= Level.SEVERE.intValue()) {
                errors.add(entry.getMessage());
            }
        }
        assertThat(errors).as("browser console errors on %s (%s)", name, driver.getCurrentUrl()).isEmpty();
        assertThat(violations()).as("serious or critical accessibility violations on %s (%s)", name, driver.getCurrentUrl()).isEmpty();
        return this;
    }

    /** axe-core's serious and critical violations on the current page, as "rule: help (targets)". */
    @SuppressWarnings("unchecked")
    List<String> violations() {
        JavascriptExecutor js = driver;
        js.executeScript(axe);
        Object result = js.executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).join(', ') + ')')))
                  .catch(e => done(['axe failed: ' + e]));""");
        return (List<String>) result;
    }

    void screenshot(String name) {
        try {
            Files.write(SCREENSHOTS.resolve(name + ".png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    WebElement find(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    String text(String css) {
        return find(css).getText();
    }

    /** Fills a form's fields by id and submits it with its button. */
    void submit(String formCss, Map<String, String> fields) {
        fill(fields);
        click(driver.findElement(By.cssSelector(formCss + " button[type=submit]")));
    }

    /** Types into form fields by id (replacing what they held). */
    void fill(Map<String, String> fields) {
        fields.forEach((id, value) -> {
            WebElement field = driver.findElement(By.id(id));
            field.clear();
            field.sendKeys(value);
        });
    }

    /** Clicks a button that submits a form and waits for the next page (else the next step races the navigation). */
    void click(WebElement button) {
        driver.executeScript("window.somaPreviousPage = true;");
        button.click();
        // A new document lacks the marker; until it is complete, scripts may fail while the old one goes away.
        new WebDriverWait(driver, Duration.ofSeconds(30)).ignoring(org.openqa.selenium.WebDriverException.class).until(browser ->
                Boolean.TRUE.equals(driver.executeScript("return window.somaPreviousPage === undefined && document.readyState === 'complete';")));
    }

    void signIn(String key) {
        open("/console/sign-in", "sign-in");
        submit("form[action='/console/sign-in']", Map.of("key", key));
    }

    void signOut() {
        click(find("form.sign-out button"));
    }

    /** The session cookie's value, as a person's browser holds it (for replaying it from outside). */
    Cookie sessionCookie() {
        return driver.manage().getCookieNamed("soma_console");
    }

    String path() {
        return java.net.URI.create(driver.getCurrentUrl()).getPath();
    }

    @Override
    public void close() {
        driver.quit();
        try (var files = Files.walk(profile)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary profile is harmless
        }
    }
}
