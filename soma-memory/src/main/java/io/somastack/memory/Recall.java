package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * The answer to a {@link RecallQuery}: the facts, best first, the id of its {@link RecallRecord},
 * and how long each phase took on the server.
 */
public record Recall(UUID id, List<Fact> facts, Timings timings) {
    public Recall {
        requireNonNull(id, "id is null");
        facts = List.copyOf(facts);
        requireNonNull(timings, "timings is null");
    }

    /**
     * The phases of one recall: embedding the query (zero for keyword recall), searching the
     * index, reading the facts from PostgreSQL, and writing the recall record durably.
     */
    public record Timings(Duration embed, Duration search, Duration fetch, Duration record) {
        public Timings {
            requireNonNull(embed, "embed is null");
            requireNonNull(search, "search is null");
            requireNonNull(fetch, "fetch is null");
            requireNonNull(record, "record is null");
        }

        /** The W3C {@code Server-Timing} header value, in milliseconds: {@code embed;dur=4.210, search;dur=0.830, ...}. */
        public String serverTiming() {
            return "embed;dur=%s, search;dur=%s, fetch;dur=%s, record;dur=%s".formatted(millis(embed), millis(search), millis(fetch),
                    millis(record));
        }

        private static String millis(Duration duration) {
            return String.format(Locale.ROOT, "%.3f", duration.toNanos() / 1e6);
        }
    }
}
