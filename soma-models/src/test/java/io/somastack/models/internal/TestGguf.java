package io.somastack.models.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Test copies of a GGUF file with one more metadata key-value, written to a temporary file
 * (never into the project). GGUF v2/v3 layout, little-endian: magic {@code GGUF}, u32 version,
 * u64 tensor count, u64 key-value count, the key-values (gguf string key, u32 type, value), the
 * tensor infos (name, u32 dimensions, u64 each, u32 type, u64 offset relative to the data
 * section), padding, then the tensor data, whose start is aligned to {@code general.alignment}
 * (32 when absent). The copy keeps the tensor infos as they are (their offsets are relative)
 * and pads again so the data section starts aligned in the new file.
 */
public final class TestGguf {
    private static final int UINT32 = 4;
    private static final int STRING = 8;
    private static final int ARRAY = 9;

    private TestGguf() {
    }

    /** A temporary copy of {@code source} whose metadata also holds {@code tokenizer.chat_template}. */
    public static Path withChatTemplate(Path source, String template) throws IOException {
        return withString(source, "tokenizer.chat_template", template);
    }

    /** A temporary copy of {@code source} with one more string key-value (the key must not exist yet). */
    public static Path withString(Path source, String key, String value) throws IOException {
        try (FileChannel channel = FileChannel.open(source, StandardOpenOption.READ)) {
            ByteBuffer in = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()).order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[4];
            in.get(magic);
            if (!new String(magic, StandardCharsets.US_ASCII).equals("GGUF")) {
                throw new IOException(source + " is not a GGUF file");
            }
            int version = in.getInt();
            if (version < 2) {
                throw new IOException("GGUF version %d is not supported".formatted(version));
            }
            long tensorCount = in.getLong();
            long keyCount = in.getLong();
            int keysStart = in.position();
            long alignment = 32;
            for (long index = 0; index < keyCount; index++) {
                String name = string(in);
                if (name.equals(key)) {
                    throw new IOException(source + " already has " + key);
                }
                int type = in.getInt();
                if (name.equals("general.alignment") && type == UINT32) {
                    alignment = Integer.toUnsignedLong(in.getInt());
                    continue;
                }
                skip(in, type);
            }
            int keysEnd = in.position();
            for (long index = 0; index < tensorCount; index++) {
                string(in);
                int dimensions = in.getInt();
                in.position(in.position() + dimensions * Long.BYTES + Integer.BYTES + Long.BYTES);
            }
            int infosEnd = in.position();
            long dataStart = align(infosEnd, alignment);

            Path copy = Files.createTempFile("soma-test-", ".gguf");
            copy.toFile().deleteOnExit();
            try (OutputStream out = Files.newOutputStream(copy)) {
                ByteBuffer head = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
                head.put(magic).putInt(version).putLong(tensorCount).putLong(keyCount + 1);
                out.write(head.array());
                out.write(bytes(in, keysStart, keysEnd));
                byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
                byte[] valueBytes = value.getBytes(StandardCharsets.UTF_8);
                ByteBuffer added = ByteBuffer.allocate(8 + keyBytes.length + 4 + 8 + valueBytes.length)
                        .order(ByteOrder.LITTLE_ENDIAN);
                added.putLong(keyBytes.length).put(keyBytes).putInt(STRING).putLong(valueBytes.length).put(valueBytes);
                out.write(added.array());
                out.write(bytes(in, keysEnd, infosEnd));
                long written = 24L + (keysEnd - keysStart) + added.capacity() + (infosEnd - keysEnd);
                out.write(new byte[(int) (align(written, alignment) - written)]);
                out.write(bytes(in, (int) dataStart, in.capacity()));
            }
            return copy;
        }
    }

    private static long align(long offset, long alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    private static byte[] bytes(ByteBuffer in, int from, int to) {
        byte[] bytes = new byte[to - from];
        in.get(from, bytes);
        return bytes;
    }

    private static String string(ByteBuffer in) {
        byte[] bytes = new byte[Math.toIntExact(in.getLong())];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void skip(ByteBuffer in, int type) throws IOException {
        if (type == STRING) {
            long length = in.getLong();
            in.position(Math.toIntExact(in.position() + length));
        } else if (type == ARRAY) {
            int elementType = in.getInt();
            long count = in.getLong();
            if (elementType == STRING || elementType == ARRAY) {
                for (long index = 0; index < count; index++) {
                    skip(in, elementType);
                }
            } else {
                in.position(Math.toIntExact(in.position() + count * GgufMetadata.size(elementType)));
            }
        } else {
            in.position(in.position() + GgufMetadata.size(type));
        }
    }
}
