package io.somastack.gateway;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Renders the errors the web server itself answers, before a request reaches a route (a bad
 * percent-escape in the path, a URI or header block over the server's limits, a body the
 * server refuses), as RFC 9457 problem documents like every other error, never as HTML or
 * plain text. Installed as the server's error handler (requests Jetty could not parse);
 * {@link InContext} is the same for the servlet context (errors raised inside it).
 */
public final class ServerErrors extends ErrorHandler {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The servlet context's variant: Jetty's servlet layer needs its own error handler type. */
    public static final class InContext extends org.eclipse.jetty.ee10.servlet.ErrorHandler {
        @Override
        public boolean errorPageForMethod(String method) {
            return true;
        }

        @Override
        protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback) {
            writeProblem(response, code, message, callback);
        }

        @Override
        protected boolean generateAcceptableResponse(Request request, Response response, Callback callback, String contentType,
                List<Charset> charsets, int code, String message, Throwable cause) {
            writeProblem(response, code, message, callback);
            return true;
        }
    }

    /** Every method gets a body, including the placeholder Jetty uses for a request it could not parse. */
    @Override
    public boolean errorPageForMethod(String method) {
        return true;
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        String requestId = requestId();
        fields.put(HttpHeader.CONTENT_TYPE, Problems.CONTENT_TYPE);
        fields.put("X-Request-Id", requestId);
        return ByteBuffer.wrap(problem(status, reason, requestId));
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        writeProblem(response, code, message, callback);
    }

    @Override
    protected boolean generateAcceptableResponse(Request request, Response response, Callback callback, String contentType,
            List<Charset> charsets, int code, String message, Throwable cause) {
        writeProblem(response, code, message, callback);
        return true;
    }

    private static void writeProblem(Response response, int code, String message, Callback callback) {
        String requestId = requestId();
        byte[] body = problem(code, message, requestId);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, Problems.CONTENT_TYPE);
        response.getHeaders().put("X-Request-Id", requestId);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    static ErrorCode codeOf(int status) {
        return switch (status) {
            case 400 -> ErrorCode.INVALID_REQUEST;
            case 404 -> ErrorCode.NOT_FOUND;
            case 405 -> ErrorCode.METHOD_NOT_ALLOWED;
            case 413 -> ErrorCode.BODY_TOO_LARGE;
            case 414 -> ErrorCode.URI_TOO_LONG;
            case 415 -> ErrorCode.UNSUPPORTED_MEDIA_TYPE;
            case 431 -> ErrorCode.HEADERS_TOO_LARGE;
            case 503 -> ErrorCode.NOT_READY;
            default -> status < 500 ? ErrorCode.INVALID_REQUEST : ErrorCode.INTERNAL;
        };
    }

    private static byte[] problem(int status, String reason, String requestId) {
        ErrorCode code = codeOf(status);
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("type", code.type());
        problem.put("title", code.title());
        problem.put("status", status);
        problem.put("detail", detail(status, reason));
        problem.put("instance", requestId);
        return Json.bytes(problem);
    }

    /** Jetty's reason when it is a short phrase (never a stack or an exception's text). */
    private static String detail(int status, String reason) {
        String safe = reason == null || reason.isBlank() || reason.length() > 200 || reason.contains("Exception") ? null : reason;
        return switch (status) {
            case 414 -> "The request URI is longer than the server accepts; send parameters in a JSON body";
            case 431 -> "The request headers are larger than the server accepts";
            case 413 -> "The request body is larger than the server accepts";
            case 400 -> safe == null || safe.equals("Bad Request")
                    ? "The server could not parse the request (a malformed URI, percent-escape or header)"
                    : "The server could not parse the request: " + safe;
            default -> safe == null ? "The server refused the request (HTTP %d)".formatted(status) : "The server refused the request: " + safe;
        };
    }

    private static String requestId() {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        return "req_" + HexFormat.of().formatHex(bytes);
    }
}
