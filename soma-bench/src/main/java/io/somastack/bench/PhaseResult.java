package io.somastack.bench;

import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * One measured window of one path at one rate, with what it cost.
 *
 * @param load latencies, achieved rate and errors
 * @param cpu CPU over the measured window
 * @param memory this JVM's memory after the window, after a full collection
 * @param serverMeanMillis SomaStack's own mean handling time of the chat route over the window
 *     (its {@code http.server.requests} timer); empty for the direct path
 * @param transactions PostgreSQL transactions (commits and rollbacks) during the window; empty
 *     for the direct path
 * @param gcPauses stop-the-world collections of this JVM during the window ({@link GcPauses})
 * @param gcPauseMillis their total time
 */
record PhaseResult(LoadResult load, ResourceMeter.Usage cpu, ResourceMeter.Memory memory, OptionalDouble serverMeanMillis,
        OptionalLong transactions, long gcPauses, long gcPauseMillis) {
}
