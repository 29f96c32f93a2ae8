package io.somastack.marketplace;

import io.somastack.kernel.Money;
import java.time.Instant;
import java.util.Optional;

/**
 * What the runs of a capsule measured over the ranking window ({@code marketplace.ranking.window}):
 * latency percentiles, mean cost per run, and the success rate's Wilson score lower bound
 * at 95% confidence, which ranks a capsule with 3 good runs of 3 below one with 970 of 1,000.
 * Empty fields mean no runs yet.
 */
public record Ranking(long runs, long successes, Optional<Double> successLowerBound, Optional<Double> p50Ms, Optional<Double> p95Ms,
        Optional<Money> costPerRun, Optional<Instant> computedAt) {

    static final double Z95 = 1.959963984540054;

    public static final Ranking NONE = new Ranking(0, 0, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
            Optional.empty());

    /**
     * The lower bound of the Wilson score interval for {@code successes} of {@code runs} at
     * confidence {@code z} standard deviations; 0 runs gives 0.
     */
    public static double wilsonLowerBound(long successes, long runs, double z) {
        if (runs <= 0) {
            return 0;
        }
        if (successes < 0 || successes > runs) {
            throw new IllegalArgumentException("successes must be in [0, runs]");
        }
        double n = runs;
        double p = successes / n;
        double z2 = z * z;
        double centre = p + z2 / (2 * n);
        double margin = z * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        return Math.max(0, (centre - margin) / (1 + z2 / n));
    }
}
