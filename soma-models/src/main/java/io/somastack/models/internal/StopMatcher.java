package io.somastack.models.internal;

import java.util.List;

/**
 * Applies stop sequences to streamed text in Java rather than in llama.cpp, so every token the
 * engine emits is seen (and counted) here. Text that could be the start of a stop sequence is
 * held back until it is clear; the stop sequence itself is never emitted, as with OpenAI.
 * Not thread-safe.
 */
final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = stops.stream().filter(stop -> !stop.isEmpty()).toList();
    }

    /** Adds generated text; returns the text now safe to emit (possibly empty). */
    String accept(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        int earliest = -1;
        for (String stop : stops) {
            int at = pending.indexOf(stop);
            if (at >= 0 && (earliest < 0 || at < earliest)) {
                earliest = at;
            }
        }
        if (earliest >= 0) {
            stopped = true;
            String emitted = pending.substring(0, earliest);
            pending.setLength(0);
            return emitted;
        }
        int held = heldBack();
        String emitted = pending.substring(0, pending.length() - held);
        pending.delete(0, pending.length() - held);
        return emitted;
    }

    /** The text held back at the end of generation, which is now known not to be a stop. */
    String flush() {
        String rest = stopped ? "" : pending.toString();
        pending.setLength(0);
        return rest;
    }

    boolean stopped() {
        return stopped;
    }

    /** Length of the longest suffix of the pending text that is a proper prefix of a stop. */
    private int heldBack() {
        int longest = 0;
        for (String stop : stops) {
            for (int length = Math.min(stop.length() - 1, pending.length()); length > longest; length--) {
                if (pending.substring(pending.length() - length).equals(stop.substring(0, length))) {
                    longest = length;
                    break;
                }
            }
        }
        return longest;
    }
}
