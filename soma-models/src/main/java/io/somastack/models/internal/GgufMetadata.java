package io.somastack.models.internal;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The little a GGUF file's header must tell: the chat template ({@code tokenizer.chat_template}),
 * if any, and, for exact prompt counts, whether llama.cpp puts a BOS token before the prompt. java-llama.cpp's {@code encode} tokenizes without special
 * tokens while its completion adds them, so the engine evaluates one token more than
 * {@code encode} returns whenever the vocabulary adds BOS. The key
 * {@code tokenizer.ggml.add_bos_token} decides; without it llama.cpp's default applies (true
 * for SentencePiece {@code llama} and WordPiece {@code bert} vocabularies, false otherwise).
 */
record GgufMetadata(boolean addsBos, Optional<String> chatTemplate) {
    private static final int STRING = 8;
    private static final int ARRAY = 9;

    static GgufMetadata read(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            byte[] magic = in.readNBytes(4);
            if (!new String(magic, StandardCharsets.US_ASCII).equals("GGUF")) {
                throw new IOException("%s is not a GGUF file".formatted(file));
            }
            int version = Integer.reverseBytes(in.readInt());
            if (version < 2) {
                throw new IOException("GGUF version %d of %s is not supported".formatted(version, file));
            }
            readLong(in);
            long keyCount = readLong(in);
            Optional<String> tokenizer = Optional.empty();
            Optional<Boolean> addsBos = Optional.empty();
            Optional<String> chatTemplate = Optional.empty();
            for (long index = 0; index < keyCount; index++) {
                String key = readString(in);
                int type = Integer.reverseBytes(in.readInt());
                if (key.equals("tokenizer.ggml.add_bos_token") && type == 7) {
                    addsBos = Optional.of(in.readByte() != 0);
                } else if (key.equals("tokenizer.ggml.model") && type == STRING) {
                    tokenizer = Optional.of(readString(in));
                } else if (key.equals("tokenizer.chat_template") && type == STRING) {
                    chatTemplate = Optional.of(readString(in)).filter(text -> !text.isBlank());
                } else {
                    skip(in, type);
                }
            }
            Optional<String> vocabulary = tokenizer;
            return new GgufMetadata(addsBos.orElseGet(() -> vocabulary.map(model -> model.equals("llama") || model.equals("bert"))
                    .orElse(false)), chatTemplate);
        }
    }

    private static void skip(DataInputStream in, int type) throws IOException {
        if (type == STRING) {
            skipBytes(in, readLong(in));
        } else if (type == ARRAY) {
            int elementType = Integer.reverseBytes(in.readInt());
            long count = readLong(in);
            if (elementType == STRING || elementType == ARRAY) {
                for (long index = 0; index < count; index++) {
                    skip(in, elementType);
                }
            } else {
                skipBytes(in, count * size(elementType));
            }
        } else {
            skipBytes(in, size(type));
        }
    }

    /** Bytes of a fixed-size GGUF value type. */
    static int size(int type) throws IOException {
        return switch (type) {
            case 0, 1, 7 -> 1;
            case 2, 3 -> 2;
            case 4, 5, 6 -> 4;
            case 10, 11, 12 -> 8;
            default -> throw new IOException("unknown GGUF value type " + type);
        };
    }

    private static String readString(DataInputStream in) throws IOException {
        long length = readLong(in);
        if (length > Integer.MAX_VALUE) {
            throw new IOException("GGUF string too long");
        }
        return new String(in.readNBytes((int) length), StandardCharsets.UTF_8);
    }

    private static long readLong(DataInputStream in) throws IOException {
        return Long.reverseBytes(in.readLong());
    }

    private static void skipBytes(InputStream in, long count) throws IOException {
        long remaining = count;
        while (remaining > 0) {
            long skipped = in.skip(remaining);
            if (skipped <= 0) {
                if (in.read() < 0) {
                    throw new EOFException("truncated GGUF header");
                }
                skipped = 1;
            }
            remaining -= skipped;
        }
    }
}
