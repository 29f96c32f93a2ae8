package io.somastack.agents;

import java.util.Locale;

/** Where a run stands. Every status but {@code running} is final. */
public enum RunStatus {
    RUNNING,
    COMPLETED,
    FAILED,
    CANCELLED,
    /** Its node stopped mid-run; the sweeper settled what it used. */
    INTERRUPTED;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static RunStatus parse(String wire) {
        return valueOf(wire.toUpperCase(Locale.ROOT));
    }
}
