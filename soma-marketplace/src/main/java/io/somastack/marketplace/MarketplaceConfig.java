package io.somastack.marketplace;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import java.time.Duration;

/**
 * Configuration of the marketplace; every key is optional. Bundle size limits are the
 * constitution's ({@code policy.bundle.*}) and the upload limit the gateway's ({@code max.upload.bytes}).
 *
 * <table>
 *   <caption>Keys (environment: {@code SOMA_MARKETPLACE_RANKING_WINDOW} for {@code marketplace.ranking.window})</caption>
 *   <tr><td>{@code marketplace.ranking.window}</td><td>720h (30 days) of run records behind each ranking</td></tr>
 *   <tr><td>{@code marketplace.ranking.refresh}</td><td>1m, how often this node recomputes the rankings</td></tr>
 * </table>
 */
public record MarketplaceConfig(Duration rankingWindow, Duration rankingRefresh) {
    public MarketplaceConfig {
        requireNonNull(rankingWindow, "rankingWindow is null");
        requireNonNull(rankingRefresh, "rankingRefresh is null");
        if (rankingWindow.isNegative() || rankingWindow.isZero() || rankingRefresh.isNegative() || rankingRefresh.isZero()) {
            throw new IllegalArgumentException("marketplace.ranking.window and .refresh must be positive");
        }
    }

    public static MarketplaceConfig defaults() {
        return new MarketplaceConfig(Duration.ofDays(30), Duration.ofMinutes(1));
    }

    /** Reads the {@code marketplace.*} keys; problems are collected in {@code settings}. */
    public static MarketplaceConfig from(Settings settings) {
        MarketplaceConfig defaults = defaults();
        Duration window = settings.duration("marketplace.ranking.window", defaults.rankingWindow());
        Duration refresh = settings.duration("marketplace.ranking.refresh", defaults.rankingRefresh());
        if (window.isNegative() || window.isZero() || refresh.isNegative() || refresh.isZero()) {
            settings.problem("marketplace.ranking.window and marketplace.ranking.refresh must be positive");
            return defaults;
        }
        return new MarketplaceConfig(window, refresh);
    }
}
