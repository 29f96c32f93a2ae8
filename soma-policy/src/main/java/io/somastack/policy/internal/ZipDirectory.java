package io.somastack.policy.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The central directory of a zip held in memory (PKWARE APPNOTE 4.3.12 to 4.3.16, with the
 * Zip64 end records). {@link java.util.zip.ZipInputStream} reads only the local headers, but
 * {@code unzip} and {@link java.util.zip.ZipFile} extract what the central directory says, with
 * the file type it gives in each entry's external attributes (a Unix {@code st_mode} in the
 * high 16 bits): a symbolic link there is recreated as a link. So the bundle reader checks the
 * central directory too, and that it lists exactly the entries the local headers hold.
 */
final class ZipDirectory {
    private static final int END_SIGNATURE = 0x06054b50;
    private static final int END_SIZE = 22;
    private static final int ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
    private static final int ZIP64_LOCATOR_SIZE = 20;
    private static final int ZIP64_END_SIGNATURE = 0x06064b50;
    private static final int ENTRY_SIGNATURE = 0x02014b50;
    private static final int ENTRY_SIZE = 46;

    /** Unix file types ({@code S_IFMT} bits of {@code st_mode}). */
    static final int TYPE_MASK = 0170000;
    static final int REGULAR_FILE = 0100000;
    static final int DIRECTORY = 0040000;
    /** The MS-DOS directory attribute (low byte of the external attributes). */
    static final int DOS_DIRECTORY = 0x10;

    private ZipDirectory() {
    }

    /**
     * One central directory entry.
     *
     * @param name the path, decoded as UTF-8 (as {@link java.util.zip.ZipInputStream} decodes it)
     * @param externalAttributes the Unix mode in the high 16 bits, MS-DOS attributes in the low byte
     */
    record Entry(String name, int externalAttributes) {
        int unixType() {
            return (externalAttributes >>> 16) & TYPE_MASK;
        }

        boolean dosDirectory() {
            return (externalAttributes & DOS_DIRECTORY) != 0;
        }
    }

    /**
     * The entries of the central directory of {@code zip} in their order, or empty when
     * {@code zip} has no end of central directory record (not a zip) or a malformed directory.
     * Reads at most {@code maxEntries + 1} entries, so the caller can refuse too many.
     */
    static Optional<List<Entry>> read(byte[] zip, int maxEntries) {
        ByteBuffer buffer = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        int end = endRecord(buffer);
        if (end < 0 || buffer.getShort(end + 4) != 0 || buffer.getShort(end + 6) != 0) {
            return Optional.empty(); // not a zip, or a multi-disk archive
        }
        long count = Short.toUnsignedLong(buffer.getShort(end + 10));
        long offset = Integer.toUnsignedLong(buffer.getInt(end + 16));
        if (count == 0xFFFF || offset == 0xFFFFFFFFL) {
            int locator = end - ZIP64_LOCATOR_SIZE;
            if (locator < 0 || buffer.getInt(locator) != ZIP64_LOCATOR_SIGNATURE) {
                return Optional.empty();
            }
            long zip64End = buffer.getLong(locator + 8);
            if (zip64End < 0 || zip64End > locator - 56 || buffer.getInt((int) zip64End) != ZIP64_END_SIGNATURE) {
                return Optional.empty();
            }
            count = buffer.getLong((int) zip64End + 32);
            offset = buffer.getLong((int) zip64End + 48);
        }
        List<Entry> entries = new ArrayList<>();
        long position = offset;
        for (long i = 0; i < Math.min(count, maxEntries + 1L); i++) {
            if (position < 0 || position > end - ENTRY_SIZE || buffer.getInt((int) position) != ENTRY_SIGNATURE) {
                return Optional.empty();
            }
            int at = (int) position;
            int nameLength = Short.toUnsignedInt(buffer.getShort(at + 28));
            int extraLength = Short.toUnsignedInt(buffer.getShort(at + 30));
            int commentLength = Short.toUnsignedInt(buffer.getShort(at + 32));
            if ((long) at + ENTRY_SIZE + nameLength > end) {
                return Optional.empty();
            }
            String name = new String(zip, at + ENTRY_SIZE, nameLength, StandardCharsets.UTF_8);
            entries.add(new Entry(name, buffer.getInt(at + 38)));
            position = (long) at + ENTRY_SIZE + nameLength + extraLength + commentLength;
        }
        return Optional.of(entries);
    }

    /**
     * The offset of the end of central directory record: the last one whose comment ends
     * exactly at the end of the file (a comment may itself contain the signature).
     */
    private static int endRecord(ByteBuffer buffer) {
        int last = buffer.limit() - END_SIZE;
        for (int at = last; at >= Math.max(0, last - 0xFFFF); at--) {
            if (buffer.getInt(at) == END_SIGNATURE && at + END_SIZE + Short.toUnsignedInt(buffer.getShort(at + 20)) == buffer.limit()) {
                return at;
            }
        }
        return -1;
    }
}
