package io.somastack.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, one connection per request, for requests that a well-behaved
 * client cannot send: a request target with bad percent-escapes, huge headers, a chunked body.
 * The body is written on its own thread while the answer is read, so a server that answers
 * early (413) and closes is still heard.
 */
final class RawHttp {
    /** How the body is framed. */
    enum Framing { CONTENT_LENGTH, CHUNKED }

    record Response(int status, Map<String, List<String>> headers, String body) {
        String header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null ? null : values.getFirst();
        }
    }

    private final int port;

    RawHttp(int port) {
        this.port = port;
    }

    /** Sends one request; {@code target} goes on the request line exactly as given. */
    Response send(String method, String target, List<String> headers, byte[] body, Framing framing) {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(60_000);
            StringBuilder head = new StringBuilder().append(method).append(' ').append(target).append(" HTTP/1.1\r\n")
                    .append("Host: 127.0.0.1:").append(port).append("\r\nConnection: close\r\n");
            headers.forEach(header -> head.append(header).append("\r\n"));
            if (body != null) {
                head.append(framing == Framing.CHUNKED ? "Transfer-Encoding: chunked" : "Content-Length: " + body.length).append("\r\n");
            }
            head.append("\r\n");
            OutputStream out = socket.getOutputStream();
            Thread writer = Thread.ofVirtual().start(() -> write(out, head.toString().getBytes(StandardCharsets.ISO_8859_1), body, framing));
            Response response = read(new java.io.BufferedInputStream(socket.getInputStream()));
            writer.join(10_000);
            return response;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void write(OutputStream out, byte[] head, byte[] body, Framing framing) {
        try {
            out.write(head);
            if (body != null && framing == Framing.CHUNKED) {
                int chunk = 64 * 1024;
                for (int offset = 0; offset < body.length; offset += chunk) {
                    int length = Math.min(chunk, body.length - offset);
                    out.write((Integer.toHexString(length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    out.write(body, offset, length);
                    out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            } else if (body != null) {
                out.write(body);
            }
            out.flush();
        } catch (IOException e) {
            // The server answered and closed before reading the whole body (e.g. 413): the answer is what counts.
        }
    }

    private static Response read(InputStream in) throws IOException {
        String statusLine = line(in);
        if (statusLine == null) {
            throw new IOException("The server closed the connection without an answer");
        }
        String[] parts = statusLine.split(" ", 3);
        int status = Integer.parseInt(parts[1]);
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String line = line(in); line != null && !line.isEmpty(); line = line(in)) {
            int colon = line.indexOf(':');
            headers.computeIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), name -> new ArrayList<>())
                    .add(line.substring(colon + 1).trim());
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        List<String> encoding = headers.getOrDefault("transfer-encoding", List.of());
        List<String> length = headers.get("content-length");
        if (encoding.stream().anyMatch(value -> value.toLowerCase(Locale.ROOT).contains("chunked"))) {
            for (int size = Integer.parseInt(line(in).split(";")[0].trim(), 16); size > 0; size = Integer.parseInt(line(in).split(";")[0].trim(), 16)) {
                body.write(in.readNBytes(size));
                line(in);
            }
        } else if (length != null) {
            body.write(in.readNBytes(Integer.parseInt(length.getFirst())));
        } else {
            body.write(in.readAllBytes());
        }
        return new Response(status, headers, body.toString(StandardCharsets.UTF_8));
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int next = in.read(); next != -1; next = in.read()) {
            if (next == '\n') {
                byte[] bytes = line.toByteArray();
                int end = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, end, StandardCharsets.ISO_8859_1);
            }
            line.write(next);
        }
        return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
    }
}
