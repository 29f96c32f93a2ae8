package io.somastack.bench;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One keep-alive HTTP/1.1 connection of the load generator: writes a prepared request and
 * reads the response, discarding its body. It understands just what the two servers under
 * test send (a status line, headers, then a body sized by {@code Content-Length} or chunked),
 * so that the generator spends as little of the two shared cores as possible. Not
 * thread-safe: one worker owns it.
 */
final class HttpConnection implements AutoCloseable {
    private static final int BUFFER_SIZE = 16 * 1024;

    private final Socket socket;
    private final InputStream input;
    private final OutputStream output;
    private final byte[] buffer = new byte[BUFFER_SIZE];
    private int position;
    private int limit;
    private boolean reusable = true;
    private long exchanges;

    private HttpConnection(Socket socket) throws IOException {
        this.socket = socket;
        this.input = socket.getInputStream();
        this.output = socket.getOutputStream();
    }

    static HttpConnection open(InetSocketAddress address, Duration readTimeout) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(Math.toIntExact(readTimeout.toMillis()));
            socket.connect(address, Math.toIntExact(readTimeout.toMillis()));
            return new HttpConnection(socket);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Thrown when a connection that already carried a response is found closed before any
     * byte of the next one: the server dropped it while idle, so the request was never
     * served and may be sent again on a new connection, as HTTP clients do.
     */
    static final class StaleConnectionException extends IOException {
        StaleConnectionException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A response kept whole: its status, its headers (names in lower case) and its body. */
    record Response(int status, Map<String, String> headers, byte[] body) {
    }

    /** Sends one request and returns the response status once the whole body has arrived. */
    int exchange(byte[] request) throws IOException {
        return exchange(request, null, null);
    }

    /** Sends one request and returns the whole response, its headers and body kept (Content-Length bodies only). */
    Response exchangeKeeping(byte[] request) throws IOException {
        Map<String, String> headers = new HashMap<>();
        ByteArrayOutputStream body = new ByteArrayOutputStream(8192);
        int status = exchange(request, headers, body);
        return new Response(status, headers, body.toByteArray());
    }

    private int exchange(byte[] request, Map<String, String> headers, ByteArrayOutputStream body) throws IOException {
        String statusLine;
        try {
            output.write(request);
            output.flush();
            statusLine = readLine();
        } catch (IOException e) {
            if (exchanges > 0 && position == 0 && limit == 0) {
                throw new StaleConnectionException("The server closed the idle connection", e);
            }
            throw e;
        }
        exchanges++;
        if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) {
            throw new IOException("Not an HTTP/1.x status line: " + statusLine);
        }
        int status = Integer.parseInt(statusLine, 9, 12, 10);
        long contentLength = -1;
        boolean chunked = false;
        for (String line = readLine(); !line.isEmpty(); line = readLine()) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            if (headers != null) {
                headers.put(name.toLowerCase(Locale.ROOT), value);
            }
            if (name.equalsIgnoreCase("Content-Length")) {
                contentLength = Long.parseLong(value);
            } else if (name.equalsIgnoreCase("Transfer-Encoding")) {
                chunked = value.equalsIgnoreCase("chunked");
            } else if (name.equalsIgnoreCase("Connection") && value.equalsIgnoreCase("close")) {
                reusable = false;
            }
        }
        if (body != null && (chunked || contentLength < 0)) {
            throw new IOException("A kept response needs a Content-Length body");
        }
        if (chunked) {
            skipChunkedBody();
        } else if (contentLength >= 0) {
            skip(contentLength, body);
        } else {
            // No length and not chunked: the body ends when the server closes the connection.
            while (fill()) {
                position = limit;
            }
            reusable = false;
        }
        if (position == limit) {
            position = 0;
            limit = 0;
        }
        return status;
    }

    /** False once the server announced it will close the connection. */
    boolean reusable() {
        return reusable;
    }

    private void skipChunkedBody() throws IOException {
        while (true) {
            String sizeLine = readLine();
            int extension = sizeLine.indexOf(';');
            long size = Long.parseLong((extension >= 0 ? sizeLine.substring(0, extension) : sizeLine).trim(), 16);
            if (size == 0) {
                while (!readLine().isEmpty()) {
                    // trailers are ignored
                }
                return;
            }
            skip(size, null);
            readLine();
        }
    }

    private void skip(long bytes, ByteArrayOutputStream kept) throws IOException {
        long remaining = bytes;
        while (remaining > 0) {
            if (position == limit && !fill()) {
                throw new EOFException("The connection closed %d bytes before the end of the body".formatted(remaining));
            }
            int taken = (int) Math.min(remaining, limit - position);
            if (kept != null) {
                kept.write(buffer, position, taken);
            }
            position += taken;
            remaining -= taken;
        }
    }

    private String readLine() throws IOException {
        StringBuilder line = new StringBuilder(64);
        while (true) {
            if (position == limit && !fill()) {
                throw new EOFException("The connection closed in the middle of a response");
            }
            byte next = buffer[position++];
            if (next == '\n') {
                int length = line.length();
                if (length > 0 && line.charAt(length - 1) == '\r') {
                    line.setLength(length - 1);
                }
                return line.toString();
            }
            line.append((char) (next & 0xff));
        }
    }

    private boolean fill() throws IOException {
        int read = input.read(buffer, 0, buffer.length);
        if (read <= 0) {
            return false;
        }
        position = 0;
        limit = read;
        return true;
    }

    /** The request bytes for a JSON POST, built once and written for every call. */
    static byte[] post(String host, int port, String path, String bearer, byte[] body) {
        String head = """
                POST %s HTTP/1.1\r
                Host: %s:%d\r
                Authorization: Bearer %s\r
                Content-Type: application/json\r
                Accept: application/json\r
                Content-Length: %d\r
                \r
                """.formatted(path, host, port, bearer, body.length);
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        byte[] request = new byte[headBytes.length + body.length];
        System.arraycopy(headBytes, 0, request, 0, headBytes.length);
        System.arraycopy(body, 0, request, headBytes.length, body.length);
        return request;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a connection that already failed
        }
    }
}
