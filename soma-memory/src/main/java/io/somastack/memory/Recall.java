package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.UUID;

/** The answer to a {@link RecallQuery}: the facts, best first, and the id of its {@link RecallRecord}. */
public record Recall(UUID id, List<Fact> facts) {
    public Recall {
        requireNonNull(id, "id is null");
        facts = List.copyOf(facts);
    }
}
