package io.somastack.models.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Reads server-sent events (the WHATWG event-stream format) from an upstream response:
 * {@code event:} and {@code data:} fields, comments, events ended by a blank line. Closing the
 * reader closes the response body, which drops the upstream connection. Not thread-safe.
 */
public final class SseReader implements AutoCloseable {
    private final BufferedReader reader;

    /** One event: its type ({@code message} when unnamed) and its data lines joined by newlines. */
    public record Event(String type, String data) {
    }

    public SseReader(InputStream body) {
        this.reader = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
    }

    /** The next event, or null at the end of the stream. */
    public Event next() throws IOException {
        String type = null;
        StringBuilder data = null;
        String line;
        while ((line = reader.readLine()) != null) {
            if (line.isEmpty()) {
                if (data != null) {
                    return new Event(type == null ? "message" : type, data.toString());
                }
                type = null;
                continue;
            }
            if (line.startsWith(":")) {
                continue;
            }
            int colon = line.indexOf(':');
            String field = colon < 0 ? line : line.substring(0, colon);
            String value = colon < 0 ? "" : line.substring(colon + 1);
            if (value.startsWith(" ")) {
                value = value.substring(1);
            }
            if (field.equals("event")) {
                type = value;
            } else if (field.equals("data")) {
                data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
            }
        }
        return data == null ? null : new Event(type == null ? "message" : type, data.toString());
    }

    @Override
    public void close() {
        try {
            reader.close();
        } catch (IOException e) {
            // The connection is being abandoned; there is nothing left to release.
        }
    }
}
