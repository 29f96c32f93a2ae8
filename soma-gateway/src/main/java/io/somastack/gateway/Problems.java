package io.somastack.gateway;

import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
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
        if (exception.code().category() == io.somastack.kernel.ErrorCategory.INTERNAL) {
            // An internal failure's detail may quote SQL, a driver or a stack: it goes to the log
            // under the request id, and the client gets only the id to quote.
            renderUnexpected(exception, ctx);
            return;
        }
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
        if (code == ErrorCode.RATE_LIMITED && exception.extensions().get("limit") instanceof Number limit) {
            // The same headers as on an admitted request: the limit, nothing left, and when it refills.
            ctx.header("RateLimit-Limit", Long.toString(limit.longValue()));
            ctx.header("RateLimit-Remaining", "0");
            if (exception.extensions().get("reset_seconds") instanceof Number reset) {
                ctx.header("RateLimit-Reset", Long.toString(reset.longValue()));
            }
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
        Optional<SQLException> dataError = dataException(exception);
        if (dataError.isPresent()) {
            // PostgreSQL refused a value the request carried (SQLSTATE class 22: out of range, not
            // storable). That is bad input, not a fault; validation should have caught it first.
            LOG.warn("A value of {} {} (request {}) was refused by the database: {}", ctx.method(), ctx.path(), Edge.requestId(ctx),
                    dataError.get().getMessage());
            render(new SomaException(ErrorCode.VALUE_OUT_OF_RANGE, "A value in the request cannot be stored (SQLSTATE %s); check numbers, dates and text"
                    .formatted(dataError.get().getSQLState())), ctx);
            return;
        }
        LOG.error("Unexpected failure of {} {} (request {})", ctx.method(), ctx.path(), Edge.requestId(ctx), exception);
        ErrorCode internal = ErrorCode.INTERNAL;
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("type", internal.type());
        problem.put("title", internal.title());
        problem.put("status", internal.status());
        problem.put("detail", "An internal error occurred; quote request id %s to the operator".formatted(Edge.requestId(ctx)));
        problem.put("instance", Edge.requestId(ctx));
        ctx.status(internal.status()).contentType(CONTENT_TYPE).result(Json.bytes(problem));
    }

    private static Optional<SQLException> dataException(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().startsWith("22")) {
                return Optional.of(sql);
            }
        }
        return Optional.empty();
    }
}
