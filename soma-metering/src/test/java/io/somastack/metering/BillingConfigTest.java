package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Settings;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
                "invoices.close-delay", "6h", "invoices.close-check-interval", "30s"));
        BillingConfig config = BillingConfig.from(settings);
        settings.validate();

        assertThat(config).isEqualTo(new BillingConfig("EUR", List.of(), Map.of("acme", new BigDecimal("0.21")), false, Duration.ofHours(6),
                Duration.ofSeconds(30)));
    }

    @Test
    void listsEveryBadValueAtOnce() {
        Settings settings = Settings.of(Map.of("billing.currency", "dollars", "billing.tax-rates.acme", "1.5",
                "invoices.close-delay", "-1h", "invoices.close-check-interval", "0s"));
        BillingConfig.from(settings);

        assertThatThrownBy(settings::validate).hasMessageContainingAll("billing.currency", "billing.tax-rates.acme",
                "invoices.close-check-interval must be positive");
    }
}
