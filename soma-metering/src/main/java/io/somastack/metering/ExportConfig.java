package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;

/**
 * Where usage is exported: an OpenMeter server (its ingest API, CloudEvents) and a Lago server
 * (its batch events API, with the API key read from the environment variable named here).
 * <pre>
 * billing:
 *   export:
 *     openmeter.url: http://openmeter.internal:8888
 *     lago.url: http://lago.internal:3000
 *     lago.api-key-env: LAGO_API_KEY
 *     lago.continuous: true      # post new ledger rows as they come (ContinuousExport)
 *     lago.interval: 30s
 * </pre>
 */
public record ExportConfig(Optional<URI> openMeterUrl, Optional<URI> lagoUrl, Optional<String> lagoApiKeyEnv,
        Optional<Duration> openMeterEvery, Optional<Duration> lagoEvery) {
    /** How often a continuous exporter looks for new rows unless configured. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);

    public ExportConfig {
        requireNonNull(openMeterUrl, "openMeterUrl is null");
        requireNonNull(lagoUrl, "lagoUrl is null");
        requireNonNull(lagoApiKeyEnv, "lagoApiKeyEnv is null");
        requireNonNull(openMeterEvery, "openMeterEvery is null");
        requireNonNull(lagoEvery, "lagoEvery is null");
        if (openMeterEvery.isPresent() && openMeterUrl.isEmpty() || lagoEvery.isPresent() && lagoUrl.isEmpty()) {
            throw new IllegalArgumentException("a continuous export needs its receiver's URL");
        }
    }

    /** Exports on demand only. */
    public ExportConfig(Optional<URI> openMeterUrl, Optional<URI> lagoUrl, Optional<String> lagoApiKeyEnv) {
        this(openMeterUrl, lagoUrl, lagoApiKeyEnv, Optional.empty(), Optional.empty());
    }

    public static ExportConfig none() {
        return new ExportConfig(Optional.empty(), Optional.empty(), Optional.empty());
    }

    public static ExportConfig from(Settings settings) {
        Optional<URI> openMeter = url(settings, "billing.export.openmeter.url");
        Optional<URI> lago = url(settings, "billing.export.lago.url");
        return new ExportConfig(openMeter, lago, settings.string("billing.export.lago.api-key-env"),
                every(settings, "openmeter", openMeter), every(settings, "lago", lago));
    }

    /** {@code billing.export.<target>.continuous: true} turns the continuous exporter on, every {@code .interval} (30s). */
    private static Optional<Duration> every(Settings settings, String target, Optional<URI> url) {
        String prefix = "billing.export." + target;
        Duration interval = settings.duration(prefix + ".interval", DEFAULT_INTERVAL);
        if (interval.compareTo(Duration.ofMillis(10)) < 0 || interval.compareTo(Duration.ofHours(24)) > 0) {
            settings.problem("%s.interval must be between 10ms and 24h".formatted(prefix));
            interval = DEFAULT_INTERVAL;
        }
        if (!settings.bool(prefix + ".continuous", false)) {
            return Optional.empty();
        }
        if (url.isEmpty()) {
            settings.problem("%s.continuous needs %s.url".formatted(prefix, prefix));
            return Optional.empty();
        }
        return Optional.of(interval);
    }

    /** The URL of {@code target}'s receiver. */
    public Optional<URI> url(UsageExport.Target target) {
        return target == UsageExport.Target.OPENMETER ? openMeterUrl : lagoUrl;
    }

    /** How often {@code target} is exported continuously; empty when it is on demand only. */
    public Optional<Duration> every(UsageExport.Target target) {
        return target == UsageExport.Target.OPENMETER ? openMeterEvery : lagoEvery;
    }

    private static Optional<URI> url(Settings settings, String key) {
        return settings.string(key).flatMap(text -> {
            try {
                URI uri = URI.create(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
                if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                    throw new IllegalArgumentException("not an http(s) URL");
                }
                return Optional.of(uri);
            } catch (IllegalArgumentException e) {
                settings.problem("%s ('%s') must be an http(s) URL".formatted(key, text));
                return Optional.empty();
            }
        });
    }
}
