package io.somastack.gateway;

import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renders every failure as RFC 9457 {@code application/problem+json}: {@code type},
 * {@code title}, {@code status}, {@code detail}, {@code instance} (the request id), plus the
 * exception's extensions. An unexpected exception becomes a 500 whose request id is logged
 * with the stack trace.
 */
public final class Problems {
    public static final String CONTENT_TYPE = "application/problem+json";
    private static final Logger LOG = LoggerFactory.getLogger(Problems.class);

    public void render(SomaException exception, Context ctx) {
        ErrorCode code = exception.code();
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("type", code.type());
        problem.put("title", code.title());
        problem.put("status", code.status());
        problem.put("detail", exception.detail());
        problem.put("instance", Edge.requestId(ctx));
        problem.putAll(exception.extensions());
        if (exception.extensions().get("retry_after_seconds") instanceof Number seconds) {
            ctx.header("Retry-After", Long.toString(seconds.longValue()));
        }
        if (code == ErrorCode.METHOD_NOT_ALLOWED && exception.extensions().get("allow") instanceof String allow) {
            ctx.header("Allow", allow);
        }
        if (code.status() == 401) {
            ctx.header("WWW-Authenticate", "Bearer realm=\"somastack\"");
        }
        ctx.status(code.status()).contentType(CONTENT_TYPE).result(Json.bytes(problem));
    }

    public void renderUnexpected(Exception exception, Context ctx) {
        if (exception instanceof HttpResponseException http) {
            ErrorCode code = switch (http.getStatus()) {
                case 404 -> ErrorCode.NOT_FOUND;
                case 405 -> ErrorCode.METHOD_NOT_ALLOWED;
                case 413 -> ErrorCode.BODY_TOO_LARGE;
                case 415 -> ErrorCode.UNSUPPORTED_MEDIA_TYPE;
                default -> http.getStatus() < 500 ? ErrorCode.INVALID_REQUEST : ErrorCode.INTERNAL;
            };
            render(new SomaException(code, http.getMessage()), ctx);
            return;
        }
        LOG.error("Unexpected failure of {} {} (request {})", ctx.method(), ctx.path(), Edge.requestId(ctx), exception);
        render(new SomaException(ErrorCode.INTERNAL, "An internal error occurred; quote request id %s to the operator"
                .formatted(Edge.requestId(ctx))), ctx);
    }
}
