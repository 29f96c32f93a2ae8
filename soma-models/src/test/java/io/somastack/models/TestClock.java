package io.somastack.models;

import io.somastack.kernel.Clock;
import java.time.Duration;
import java.time.Instant;

/** A clock the test moves by hand. Thread-safe. */
public final class TestClock implements Clock {
    private volatile Instant now = Instant.parse("2026-01-15T10:00:00Z");

    @Override
    public Instant now() {
        return now;
    }

    public void advance(Duration duration) {
        now = now.plus(duration);
    }
}
