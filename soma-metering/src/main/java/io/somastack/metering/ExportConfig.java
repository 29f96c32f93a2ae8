package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import java.net.URI;
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
 * </pre>
 */
public record ExportConfig(Optional<URI> openMeterUrl, Optional<URI> lagoUrl, Optional<String> lagoApiKeyEnv) {
    public ExportConfig {
        requireNonNull(openMeterUrl, "openMeterUrl is null");
        requireNonNull(lagoUrl, "lagoUrl is null");
        requireNonNull(lagoApiKeyEnv, "lagoApiKeyEnv is null");
    }

    public static ExportConfig none() {
        return new ExportConfig(Optional.empty(), Optional.empty(), Optional.empty());
    }

    public static ExportConfig from(Settings settings) {
        return new ExportConfig(url(settings, "billing.export.openmeter.url"), url(settings, "billing.export.lago.url"),
                settings.string("billing.export.lago.api-key-env"));
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
