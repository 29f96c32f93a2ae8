package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import java.util.UUID;

/**
 * What became of one {@link NewMemory}.
 *
 * @param index its position in the request's batch
 * @param outcome {@code CREATED} a new memory, {@code REVISED} a near-duplicate of an existing
 *     memory in the same scope got a new revision, {@code UNCHANGED} the same text was already
 *     the memory's current revision
 */
public record Remembered(int index, UUID memoryId, UUID revisionId, Outcome outcome) {
    public Remembered {
        requireNonNull(memoryId, "memoryId is null");
        requireNonNull(revisionId, "revisionId is null");
        requireNonNull(outcome, "outcome is null");
    }

    /** What a remember did with one entry. */
    public enum Outcome { CREATED, REVISED, UNCHANGED }
}
