package io.somastack.tools.internal;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Keeps the first {@code limit} bytes written (a tool's log) and counts the rest, which it drops. */
public final class BoundedLog extends OutputStream {
    private final int limit;
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
    private long dropped;

    public BoundedLog(int limit) {
        this.limit = limit;
    }

    @Override
    public synchronized void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] bytes, int offset, int length) {
        int room = Math.max(0, limit - kept.size());
        int keep = Math.min(room, length);
        kept.write(bytes, offset, keep);
        dropped += length - keep;
    }

    public synchronized String text() {
        String text = kept.toString(StandardCharsets.UTF_8);
        return dropped == 0 ? text : text + "\n[log truncated: %d more bytes dropped]".formatted(dropped);
    }
}
