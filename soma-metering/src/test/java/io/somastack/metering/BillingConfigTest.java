package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Settings;
import java.math.BigDecimal;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BillingConfigTest {
    @Test
    void defaultsCloseEachPeriodAnHourAfterItsEndCheckingEveryFiveMinutes() {
        Settings settings = Settings.of(Map.of());
        BillingConfig config = BillingConfig.from(settings);
        settings.validate();

        assertThat(config).isEqualTo(BillingConfig.defaults());
        assertThat(config.currency()).isEqualTo("USD");
        assertThat(config.scheduledClose()).isTrue();
        assertThat(config.closeDelay()).isEqualTo(Duration.ofHours(1));
        assertThat(config.closeCheckInterval()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void readsEveryKey() {
        Settings settings = Settings.of(Map.of("billing.currency", "EUR", "billing.tax-rates.acme", "0.21", "invoices.scheduled-close", "false",
                "invoices.close-delay", "6h", "invoices.close-check-interval", "30s", "billing.export.openmeter.url", "http://openmeter.internal:8888/",
                "billing.export.lago.url", "https://lago.internal", "billing.export.lago.api-key-env", "LAGO_API_KEY"));
        BillingConfig config = BillingConfig.from(settings);
        settings.validate();

        assertThat(config).isEqualTo(new BillingConfig("EUR", List.of(), Map.of("acme", new BigDecimal("0.21")), false, Duration.ofHours(6),
                Duration.ofSeconds(30), new ExportConfig(Optional.of(URI.create("http://openmeter.internal:8888")),
                Optional.of(URI.create("https://lago.internal")), Optional.of("LAGO_API_KEY"))));
    }

    @Test
    void turnsOnEachContinuousExporterWithItsInterval() {
        Settings settings = Settings.of(Map.of("billing.export.openmeter.url", "http://openmeter.internal:8888",
                "billing.export.openmeter.continuous", "true", "billing.export.lago.url", "https://lago.internal",
                "billing.export.lago.continuous", "on", "billing.export.lago.interval", "2m"));
        ExportConfig config = BillingConfig.from(settings).exports();
        settings.validate();

        assertThat(config.openMeterEvery()).contains(ExportConfig.DEFAULT_INTERVAL);
        assertThat(config.lagoEvery()).contains(Duration.ofMinutes(2));
        assertThat(ExportConfig.none().every(UsageExport.Target.LAGO)).isEmpty();
    }

    @Test
    void aContinuousExporterNeedsItsUrlAndASaneInterval() {
        Settings settings = Settings.of(Map.of("billing.export.lago.continuous", "true", "billing.export.openmeter.interval", "1ms"));
        BillingConfig.from(settings);

        assertThatThrownBy(settings::validate).hasMessageContainingAll("billing.export.lago.continuous needs billing.export.lago.url",
                "billing.export.openmeter.interval must be between 10ms and 24h");
    }

    @Test
    void listsEveryBadValueAtOnce() {
        Settings settings = Settings.of(Map.of("billing.currency", "dollars", "billing.tax-rates.acme", "1.5",
                "invoices.close-delay", "-1h", "invoices.close-check-interval", "0s", "billing.export.lago.url", "ftp://lago"));
        BillingConfig.from(settings);

        assertThatThrownBy(settings::validate).hasMessageContainingAll("billing.currency", "billing.tax-rates.acme",
                "invoices.close-check-interval must be positive", "billing.export.lago.url ('ftp://lago') must be an http(s) URL");
    }
}
