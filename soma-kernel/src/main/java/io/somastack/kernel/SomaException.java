package io.somastack.kernel;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * The one unchecked failure of SomaStack. The gateway renders it as RFC 9457 problem+json;
 * {@link #extensions()} become extra members of the problem document (for example
 * {@code remaining} on an exhausted budget or {@code endpoint} on a wrong region).
 */
public final class SomaException extends RuntimeException {
    private final ErrorCode code;
    private final Map<String, Object> extensions;

    public SomaException(ErrorCode code, String detail) {
        this(code, detail, Map.of(), null);
    }

    public SomaException(ErrorCode code, String detail, Map<String, Object> extensions) {
        this(code, detail, extensions, null);
    }

    public SomaException(ErrorCode code, String detail, Map<String, Object> extensions, Throwable cause) {
        super(detail, cause);
        this.code = requireNonNull(code, "code is null");
        this.extensions = Map.copyOf(extensions);
    }

    public ErrorCode code() {
        return code;
    }

    public String detail() {
        return getMessage();
    }

    public Map<String, Object> extensions() {
        return extensions;
    }
}
