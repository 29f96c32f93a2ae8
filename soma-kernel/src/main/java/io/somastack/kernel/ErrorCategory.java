package io.somastack.kernel;

/**
 * The category of an {@link ErrorCode}; it alone fixes the HTTP status of the problem document.
 */
public enum ErrorCategory {
    INVALID(400),
    UNAUTHENTICATED(401),
    PAYMENT_REQUIRED(402),
    FORBIDDEN(403),
    NOT_FOUND(404),
    METHOD_NOT_ALLOWED(405),
    NOT_ACCEPTABLE(406),
    CONFLICT(409),
    GONE(410),
    TOO_LARGE(413),
    URI_TOO_LONG(414),
    UNSUPPORTED_MEDIA(415),
    MISDIRECTED(421),
    QUOTA(429),
    HEADERS_TOO_LARGE(431),
    INTERNAL(500),
    UPSTREAM(502),
    UNAVAILABLE(503);

    private final int status;

    ErrorCategory(int status) {
        this.status = status;
    }

    public int status() {
        return status;
    }
}
