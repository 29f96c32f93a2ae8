package io.somastack.memory.internal;

import java.util.UUID;

/** One entry of the change sequence: memory {@code memoryId} was created, revised or deleted. */
public record Change(long seq, UUID memoryId) {
}
