package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Collects a tool's output up to {@code limit} bytes and hands it on as text chunks of at most
 * {@code chunk} bytes, cut on UTF-8 character boundaries. Writing past the limit throws
 * {@link OutputLimitExceeded} and sets {@link #exceeded()}. Confined to one sandbox thread.
 */
public final class DeltaStream extends OutputStream {
    private final long limit;
    private final int chunk;
    private final Consumer<String> deltas;
    private final ByteArrayOutputStream all = new ByteArrayOutputStream();
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private volatile boolean exceeded;

    public DeltaStream(long limit, int chunk, Consumer<String> deltas) {
        this.limit = limit;
        this.chunk = chunk;
        this.deltas = requireNonNull(deltas, "deltas is null");
    }

    /** Thrown into the sandbox when a tool writes past its output limit. */
    public static final class OutputLimitExceeded extends RuntimeException {
        public OutputLimitExceeded(long limit) {
            super("The tool wrote more than its output limit of %d bytes".formatted(limit), null, false, false);
        }
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) {
        if (exceeded || all.size() + (long) length > limit) {
            exceeded = true;
            throw new OutputLimitExceeded(limit);
        }
        all.write(bytes, offset, length);
        pending.write(bytes, offset, length);
        drain(false);
    }

    @Override
    public void flush() {
        drain(false);
    }

    /** Hands on whatever is left (an incomplete character at the very end too). */
    public void finish() {
        drain(true);
    }

    private void drain(boolean everything) {
        byte[] buffer = pending.toByteArray();
        int start = 0;
        while (start < buffer.length) {
            int end = Math.min(buffer.length, start + chunk);
            if (end < buffer.length || !everything) {
                end = boundary(buffer, start, end);
            }
            if (end <= start) {
                break;
            }
            deltas.accept(new String(buffer, start, end - start, StandardCharsets.UTF_8));
            start = end;
        }
        pending.reset();
        pending.write(buffer, start, buffer.length - start);
    }

    /** The largest cut at or before {@code end} that does not split a UTF-8 sequence. */
    static int boundary(byte[] buffer, int start, int end) {
        int lead = end - 1;
        while (lead > start && end - lead < 4 && (buffer[lead] & 0xC0) == 0x80) {
            lead--;
        }
        int b = buffer[lead] & 0xFF;
        int length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        if (lead + length <= end) {
            return end;
        }
        return lead > start ? lead : end;
    }

    public boolean exceeded() {
        return exceeded;
    }

    public byte[] bytes() {
        return all.toByteArray();
    }
}
