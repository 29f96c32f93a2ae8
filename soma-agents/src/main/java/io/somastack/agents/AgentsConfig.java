package io.somastack.agents;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import java.time.Duration;
import java.util.Optional;

/**
 * Configuration of the agents' turn loop; every key is optional. A capsule's manifest may
 * lower the run limits ({@code limits.max_steps}, {@code limits.max_tool_calls},
 * {@code limits.max_wall_seconds}), never raise them.
 *
 * <table>
 *   <caption>Keys (environment: {@code SOMA_AGENTS_MAX__STEPS} for {@code agents.max-steps}: a double underscore is a dash)</caption>
 *   <tr><td>{@code agents.max-steps}</td><td>8 model calls per run</td></tr>
 *   <tr><td>{@code agents.max-tool-calls}</td><td>16 tool calls per run</td></tr>
 *   <tr><td>{@code agents.max-wall-time}</td><td>2m per run (keep it below {@code metering.reservation.ttl}: the run's reservation
 *       must not expire while it runs)</td></tr>
 *   <tr><td>{@code agents.max-output-tokens}</td><td>1024 tokens per model call</td></tr>
 *   <tr><td>{@code agents.max-input-chars}</td><td>32768 characters of input per run</td></tr>
 *   <tr><td>{@code agents.default-model}</td><td>none: the model alias used when none of the capsule's {@code model.preferred} is served</td></tr>
 *   <tr><td>{@code agents.recall-k}</td><td>5 facts recalled per run from the capsule's memory scopes</td></tr>
 *   <tr><td>{@code agents.on-client-gone}</td><td>{@code continue}: a run goes on when its client leaves; {@code cancel} stops it</td></tr>
 *   <tr><td>{@code agents.heartbeat}</td><td>5s between a node's marks that its runs are alive</td></tr>
 *   <tr><td>{@code agents.stale-after}</td><td>30s without a mark, after which the sweeper marks a run {@code interrupted} and settles it</td></tr>
 * </table>
 */
public record AgentsConfig(int maxSteps, int maxToolCalls, Duration maxWallTime, int maxOutputTokens, int maxInputChars,
        Optional<String> defaultModel, int recallK, boolean cancelOnClientGone, Duration heartbeat, Duration staleAfter) {
    public AgentsConfig {
        requireNonNull(maxWallTime, "maxWallTime is null");
        requireNonNull(defaultModel, "defaultModel is null");
        requireNonNull(heartbeat, "heartbeat is null");
        requireNonNull(staleAfter, "staleAfter is null");
        if (maxSteps < 1 || maxToolCalls < 0 || maxOutputTokens < 1 || maxInputChars < 1 || recallK < 1 || recallK > 100) {
            throw new IllegalArgumentException("agents limits must be positive (recall-k at most 100)");
        }
        if (!positive(maxWallTime) || !positive(heartbeat) || staleAfter.compareTo(heartbeat.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException("agents.max-wall-time and agents.heartbeat must be positive, and agents.stale-after at least two heartbeats");
        }
    }

    public static AgentsConfig defaults() {
        return new AgentsConfig(8, 16, Duration.ofMinutes(2), 1024, 32_768, Optional.empty(), 5, false, Duration.ofSeconds(5),
                Duration.ofSeconds(30));
    }

    public AgentsConfig withDefaultModel(String alias) {
        return new AgentsConfig(maxSteps, maxToolCalls, maxWallTime, maxOutputTokens, maxInputChars, Optional.of(alias), recallK,
                cancelOnClientGone, heartbeat, staleAfter);
    }

    public AgentsConfig withLimits(int steps, int toolCalls, Duration wallTime) {
        return new AgentsConfig(steps, toolCalls, wallTime, maxOutputTokens, maxInputChars, defaultModel, recallK, cancelOnClientGone,
                heartbeat, staleAfter);
    }

    public AgentsConfig withMaxOutputTokens(int tokens) {
        return new AgentsConfig(maxSteps, maxToolCalls, maxWallTime, tokens, maxInputChars, defaultModel, recallK, cancelOnClientGone,
                heartbeat, staleAfter);
    }

    public AgentsConfig withLiveness(Duration newHeartbeat, Duration newStaleAfter) {
        return new AgentsConfig(maxSteps, maxToolCalls, maxWallTime, maxOutputTokens, maxInputChars, defaultModel, recallK,
                cancelOnClientGone, newHeartbeat, newStaleAfter);
    }

    /** Reads the {@code agents.*} keys; problems are collected in {@code settings}. */
    public static AgentsConfig from(Settings settings) {
        AgentsConfig d = defaults();
        String onClientGone = settings.string("agents.on-client-gone", "continue");
        if (!onClientGone.equals("continue") && !onClientGone.equals("cancel")) {
            settings.problem("agents.on-client-gone must be continue or cancel (got '%s')".formatted(onClientGone));
        }
        try {
            return new AgentsConfig(settings.integer("agents.max-steps", d.maxSteps(), 1, 1000),
                    settings.integer("agents.max-tool-calls", d.maxToolCalls(), 0, 10_000),
                    settings.duration("agents.max-wall-time", d.maxWallTime()),
                    settings.integer("agents.max-output-tokens", d.maxOutputTokens(), 1, 1 << 20),
                    settings.integer("agents.max-input-chars", d.maxInputChars(), 1, 1 << 24),
                    settings.string("agents.default-model").filter(alias -> !alias.isBlank()),
                    settings.integer("agents.recall-k", d.recallK(), 1, 100),
                    onClientGone.equals("cancel"),
                    settings.duration("agents.heartbeat", d.heartbeat()),
                    settings.duration("agents.stale-after", d.staleAfter()));
        } catch (IllegalArgumentException e) {
            settings.problem(e.getMessage());
            return d;
        }
    }

    private static boolean positive(Duration duration) {
        return !duration.isNegative() && !duration.isZero();
    }
}
