package io.somastack.memory.internal;

import java.util.UUID;

/** One index match: the memory, the revision the index holds for it, and its score. */
public record Hit(UUID memoryId, UUID revisionId, String contentSha256, double score) {
}
