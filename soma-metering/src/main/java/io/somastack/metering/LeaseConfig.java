package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import java.time.Duration;

/**
 * Budget leases per node ({@link BudgetLeases}): {@code budgets.leases.enabled} (default true),
 * {@code .ttl} (15s: a lease not renewed for this long is reclaimed by a sweeper; renewed every
 * second), {@code .idle} (2s: a lease no call used for this long is returned), {@code .window}
 * (5s: a new slice is this long of the node's observed spend, at least 8 worst cases).
 */
public record LeaseConfig(boolean enabled, Duration ttl, Duration idle, Duration window) {
    public static final LeaseConfig DEFAULTS = new LeaseConfig(true, Duration.ofSeconds(15), Duration.ofSeconds(2), Duration.ofSeconds(5));

    public LeaseConfig {
        requireNonNull(ttl, "ttl is null");
        requireNonNull(idle, "idle is null");
        requireNonNull(window, "window is null");
        if (ttl.compareTo(Duration.ofSeconds(3)) < 0) {
            throw new IllegalArgumentException("budgets.leases.ttl must be at least 3s (leases are renewed every second): " + ttl);
        }
        if (idle.isNegative() || idle.isZero() || window.isNegative() || window.isZero()) {
            throw new IllegalArgumentException("budgets.leases.idle and budgets.leases.window must be positive");
        }
    }

    static LeaseConfig from(Settings settings) {
        try {
            return new LeaseConfig(settings.bool("budgets.leases.enabled", DEFAULTS.enabled()),
                    settings.duration("budgets.leases.ttl", DEFAULTS.ttl()), settings.duration("budgets.leases.idle", DEFAULTS.idle()),
                    settings.duration("budgets.leases.window", DEFAULTS.window()));
        } catch (IllegalArgumentException e) {
            settings.problem(e.getMessage());
            return DEFAULTS;
        }
    }
}
