package io.somastack.kernel;

import java.time.Instant;

/** Time as SomaStack sees it; passed in everywhere so tests control it. */
public interface Clock {
    Instant now();

    default long millis() {
        return now().toEpochMilli();
    }

    /** Monotonic nanoseconds for durations. */
    default long nanoTime() {
        return System.nanoTime();
    }

    static Clock system() {
        return Instant::now;
    }
}
