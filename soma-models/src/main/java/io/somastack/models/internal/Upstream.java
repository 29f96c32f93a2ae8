package io.somastack.models.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds and reads the {@code UPSTREAM_ERROR} failures of providers. The problem document
 * gets {@code provider}, {@code upstream_status} (the provider's HTTP status, absent when no
 * response arrived) and {@code retryable}, which tells the router to try the next target.
 * The status is not named {@code status} because that member of a problem document is the
 * status SomaStack itself answers with.
 */
public final class Upstream {
    public static final String PROVIDER = "provider";
    public static final String UPSTREAM_STATUS = "upstream_status";
    public static final String RETRYABLE = "retryable";

    private Upstream() {
    }

    /** A failure with an upstream HTTP status; retryable unless told otherwise by the caller. */
    public static SomaException failure(String provider, int status, boolean retryable, String detail, Throwable cause) {
        Map<String, Object> extensions = new LinkedHashMap<>();
        extensions.put(PROVIDER, provider);
        if (status > 0) {
            extensions.put(UPSTREAM_STATUS, status);
        }
        extensions.put(RETRYABLE, retryable);
        return new SomaException(ErrorCode.UPSTREAM_ERROR,
                "Model provider %s failed: %s".formatted(provider, detail), extensions, cause);
    }

    /** A failure for an HTTP error response: 408, 409, 429 and every 5xx are retryable. */
    public static SomaException httpFailure(String provider, int status, String message) {
        boolean retryable = status == 408 || status == 409 || status == 429 || status >= 500;
        return failure(provider, status, retryable, "HTTP %d: %s".formatted(status, message), null);
    }

    /** A failure where no response arrived (connect error, timeout): always retryable. */
    public static SomaException unreachable(String provider, Throwable cause) {
        String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        return failure(provider, 0, true, "unreachable: " + reason, cause);
    }

    /** True when the router may try another target after {@code failure}. */
    public static boolean isRetryable(Throwable failure) {
        return failure instanceof SomaException somaException
                && somaException.code() == ErrorCode.UPSTREAM_ERROR
                && Boolean.TRUE.equals(somaException.extensions().get(RETRYABLE));
    }
}
