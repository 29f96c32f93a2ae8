package io.somastack.memory.internal;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import org.apache.lucene.util.BytesRef;

/**
 * What a search returns of each hit (memory id, revision id, SHA-256 of the text) as one fixed
 * 64-byte doc value per document, read at a hit's doc id without decompressing a stored-fields
 * block (what reading the stored fields of 40 to 80 hits per recall cost). Documents indexed before
 * this value existed have only the stored fields, which searches still read for them.
 */
final class IndexKeys {
    static final String FIELD = "keys";
    private static final int LENGTH = 64;
    private static final HexFormat HEX = HexFormat.of();

    private IndexKeys() {
    }

    /** The doc value of a memory's current revision; empty when its hash is not a SHA-256 in lowercase hex. */
    static Optional<BytesRef> encode(UUID memoryId, UUID revisionId, String contentSha256) {
        if (contentSha256 == null || contentSha256.length() != 64 || !contentSha256.equals(contentSha256.toLowerCase(Locale.ROOT))) {
            return Optional.empty();
        }
        byte[] sha;
        try {
            sha = HEX.parseHex(contentSha256);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        ByteBuffer bytes = ByteBuffer.allocate(LENGTH);
        bytes.putLong(memoryId.getMostSignificantBits()).putLong(memoryId.getLeastSignificantBits());
        bytes.putLong(revisionId.getMostSignificantBits()).putLong(revisionId.getLeastSignificantBits());
        bytes.put(sha);
        return Optional.of(new BytesRef(bytes.array()));
    }

    static Hit decode(BytesRef value, double score) {
        ByteBuffer bytes = ByteBuffer.wrap(value.bytes, value.offset, LENGTH);
        UUID memoryId = new UUID(bytes.getLong(), bytes.getLong());
        UUID revisionId = new UUID(bytes.getLong(), bytes.getLong());
        return new Hit(memoryId, revisionId, HEX.formatHex(value.bytes, value.offset + 32, value.offset + LENGTH), score);
    }
}
