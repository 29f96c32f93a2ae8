package io.somastack.policy.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.policy.BundleLimits;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Unpacks a zip held in memory, refusing anything hostile: paths that escape the bundle
 * (zip slip), absolute paths, odd characters, duplicate entries, too many entries, too many
 * bytes, archive bombs, and entries that are not regular files (symbolic links, devices,
 * FIFOs, directories with content). Sizes are counted from the bytes actually inflated, never
 * from the headers, which an attacker writes. File types come from the central directory,
 * which is what {@code unzip} obeys, and the central directory must list exactly the entries
 * the archive holds, in the same order, so what is checked here is what a tenant extracts.
 */
public final class SafeZip {
    /** Relative paths of plain segments: letters, digits, dot, dash, underscore. */
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
    /** Ratios below this many bytes are not checked: tiny files compress very well. */
    private static final long RATIO_FLOOR_BYTES = 1 << 20;

    private SafeZip() {
    }

    /** The files of {@code packed} by path, in path order. */
    public static SortedMap<String, byte[]> unpack(byte[] packed, BundleLimits limits) {
        return unpackHashed(packed, limits).files();
    }

    /**
     * What {@link #unpackHashed} read: the files by path, the SHA-256 (hex) of each and of the
     * packed bytes, all computed in the one pass that inflates them.
     */
    public record Unpacked(SortedMap<String, byte[]> files, SortedMap<String, String> sha256, String packedSha256) {
    }

    /**
     * As {@link #unpack}, hashing while inflating: each file's SHA-256 is updated with every
     * chunk as it is inflated, the packed bytes' SHA-256 with every byte the inflater reads, and
     * each file is inflated into one array sized from its local header (a hint only, capped by
     * the limits; it grows if the header lied), so a 5 MB module is neither copied on growth nor
     * read again to be hashed.
     */
    public static Unpacked unpackHashed(byte[] packed, BundleLimits limits) {
        List<ZipDirectory.Entry> directory = ZipDirectory.read(packed, limits.maxEntries())
                .orElseThrow(() -> refused("the bundle is empty or not a zip archive (no readable central directory)"));
        if (directory.size() > limits.maxEntries()) {
            throw refused("the bundle has more than %d entries".formatted(limits.maxEntries()));
        }
        Set<String> names = new HashSet<>();
        for (ZipDirectory.Entry entry : directory) {
            checkPath(entry.name().endsWith("/") ? entry.name().substring(0, entry.name().length() - 1) : entry.name());
            checkType(entry);
            if (!names.add(entry.name())) {
                throw refused("the bundle holds '%s' twice (duplicate entry)".formatted(entry.name()));
            }
        }
        SortedMap<String, byte[]> files = new TreeMap<>();
        SortedMap<String, String> sha256 = new TreeMap<>();
        List<String> local = new ArrayList<>();
        long total = 0;
        byte[] buffer = new byte[64 * 1024];
        MessageDigest packedDigest = Hashes.sha256Digest();
        ByteArrayInputStream source = new ByteArrayInputStream(packed);
        try (ZipInputStream zip = new ZipInputStream(new DigestInputStream(source, packedDigest))) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                String name = entry.getName();
                if (local.size() == directory.size() || !directory.get(local.size()).name().equals(name)) {
                    throw refused("the zip's central directory does not list the entry '%s' where the archive holds it".formatted(printable(name)));
                }
                local.add(name);
                long room = Math.min(limits.maxUncompressedBytes() - total, (long) limits.maxCompressionRatio() * packed.length);
                byte[] content = new byte[(int) Math.max(0, Math.min(Math.min(room, Integer.MAX_VALUE - 8),
                        entry.getSize() >= 0 ? entry.getSize() : 16 * 1024))];
                int length = 0;
                MessageDigest fileDigest = Hashes.sha256Digest();
                int read;
                while ((read = zip.read(buffer)) > 0) {
                    if (entry.isDirectory()) {
                        throw refused("the entry '%s' is a directory with content, not a regular file".formatted(name));
                    }
                    total += read;
                    if (total > limits.maxUncompressedBytes()) {
                        throw refused("the bundle inflates to more than %d bytes".formatted(limits.maxUncompressedBytes()));
                    }
                    if (total > RATIO_FLOOR_BYTES && total > (long) limits.maxCompressionRatio() * packed.length) {
                        throw refused("the bundle inflates more than %d times its packed size (archive bomb)"
                                .formatted(limits.maxCompressionRatio()));
                    }
                    fileDigest.update(buffer, 0, read);
                    if (length + read > content.length) {
                        content = Arrays.copyOf(content, Math.max(length + read, content.length * 2));
                    }
                    System.arraycopy(buffer, 0, content, length, read);
                    length += read;
                }
                if (!entry.isDirectory()) {
                    files.put(name, length == content.length ? content : Arrays.copyOf(content, length));
                    sha256.put(name, HexFormat.of().formatHex(fileDigest.digest()));
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            throw refused("the bundle is not a readable zip archive: " + e.getMessage());
        }
        if (local.size() != directory.size()) {
            throw refused("the zip's central directory lists the entry '%s', which the archive does not hold"
                    .formatted(printable(directory.get(local.size()).name())));
        }
        if (files.isEmpty()) {
            throw refused("the bundle is empty or not a zip archive");
        }
        // The inflater stops at the last entry: the central directory after it is hashed here.
        int unread = source.available();
        packedDigest.update(packed, packed.length - unread, unread);
        return new Unpacked(Collections.unmodifiableSortedMap(files), Collections.unmodifiableSortedMap(sha256),
                HexFormat.of().formatHex(packedDigest.digest()));
    }

    /**
     * Refuses an entry whose external attributes make it anything but a regular file (or, for
     * a name ending in '/', a directory): a Unix file type other than regular in the high 16
     * bits, whatever the "made by" system, as {@code unzip} honours it for several; or the
     * MS-DOS directory attribute on a file name.
     */
    private static void checkType(ZipDirectory.Entry entry) {
        boolean directoryName = entry.name().endsWith("/");
        int type = entry.unixType();
        if (type != 0 && type != (directoryName ? ZipDirectory.DIRECTORY : ZipDirectory.REGULAR_FILE)) {
            String kind = switch (type) {
                case 0120000 -> "a symbolic link";
                case 0040000 -> "marked a directory";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0010000 -> "a FIFO";
                case 0140000 -> "a socket";
                case 0100000 -> "a regular file under a directory name";
                default -> "of unknown file type 0%o".formatted(type);
            };
            throw refused("the entry '%s' is %s, not a regular file (external attributes 0x%08x)"
                    .formatted(printable(entry.name()), kind, entry.externalAttributes()));
        }
        if (!directoryName && entry.dosDirectory()) {
            throw refused("the entry '%s' is marked a directory, not a regular file (external attributes 0x%08x)"
                    .formatted(printable(entry.name()), entry.externalAttributes()));
        }
    }

    /** Refuses absolute paths, drive letters, backslashes, '.' and '..' segments and odd characters. */
    public static void checkPath(String name) {
        if (name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.contains(":")) {
            throw refused("the entry '%s' has an absolute or non-portable path".formatted(printable(name)));
        }
        for (String segment : name.split("/", -1)) {
            if (segment.equals("..") || segment.equals(".")) {
                throw refused("the entry '%s' escapes the bundle (zip slip)".formatted(printable(name)));
            }
            if (!SEGMENT.matcher(segment).matches()) {
                throw refused("the entry '%s' has a path segment that is empty or uses characters other than letters, digits, '.', '-', '_'"
                        .formatted(printable(name)));
            }
        }
    }

    private static String printable(String name) {
        return name.codePoints().limit(200).mapToObj(c -> c < 0x20 || c == 0x7f ? "?" : Character.toString(c))
                .reduce("", String::concat);
    }

    static SomaException refused(String reason) {
        return new SomaException(ErrorCode.BUNDLE_INVALID, "Capsule bundle refused: " + reason, java.util.Map.of("reason", reason));
    }
}
