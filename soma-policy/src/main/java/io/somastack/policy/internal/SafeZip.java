package io.somastack.policy.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.policy.BundleLimits;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Unpacks a zip held in memory, refusing anything hostile: paths that escape the bundle
 * (zip slip), absolute paths, odd characters, duplicate entries, too many entries, too many
 * bytes, and archive bombs. Sizes are counted from the bytes actually inflated, never from
 * the headers, which an attacker writes.
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
        SortedMap<String, byte[]> files = new TreeMap<>();
        long total = 0;
        int entries = 0;
        byte[] buffer = new byte[16 * 1024];
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(packed))) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                entries++;
                if (entries > limits.maxEntries()) {
                    throw refused("the bundle has more than %d entries".formatted(limits.maxEntries()));
                }
                String name = entry.getName();
                if (entry.isDirectory()) {
                    checkPath(name.substring(0, name.length() - 1));
                    continue;
                }
                checkPath(name);
                if (files.containsKey(name)) {
                    throw refused("the bundle holds '%s' twice (duplicate entry)".formatted(name));
                }
                ByteArrayOutputStream content = new ByteArrayOutputStream();
                int read;
                while ((read = zip.read(buffer)) > 0) {
                    total += read;
                    if (total > limits.maxUncompressedBytes()) {
                        throw refused("the bundle inflates to more than %d bytes".formatted(limits.maxUncompressedBytes()));
                    }
                    if (total > RATIO_FLOOR_BYTES && total > (long) limits.maxCompressionRatio() * packed.length) {
                        throw refused("the bundle inflates more than %d times its packed size (archive bomb)"
                                .formatted(limits.maxCompressionRatio()));
                    }
                    content.write(buffer, 0, read);
                }
                files.put(name, content.toByteArray());
            }
        } catch (IOException | IllegalArgumentException e) {
            throw refused("the bundle is not a readable zip archive: " + e.getMessage());
        }
        if (files.isEmpty()) {
            throw refused("the bundle is empty or not a zip archive");
        }
        return Collections.unmodifiableSortedMap(files);
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
