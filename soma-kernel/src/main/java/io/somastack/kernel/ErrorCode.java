package io.somastack.kernel;

import java.util.Locale;

/**
 * Every failure SomaStack reports. The name gives the stable problem {@code type}
 * ({@code https://somastack.io/problems/<kebab-name>}), the category gives the HTTP status.
 * Codes are never renamed: clients match on the type.
 */
public enum ErrorCode {
    MALFORMED_JSON(ErrorCategory.INVALID, "Malformed JSON"),
    INVALID_REQUEST(ErrorCategory.INVALID, "Invalid request"),
    UNKNOWN_FIELD(ErrorCategory.INVALID, "Unknown field"),
    UNKNOWN_MODEL(ErrorCategory.INVALID, "Unknown model"),
    BUNDLE_INVALID(ErrorCategory.INVALID, "Capsule bundle refused"),
    MANIFEST_INVALID(ErrorCategory.INVALID, "Capsule manifest invalid"),
    SBOM_INVALID(ErrorCategory.INVALID, "SBOM invalid"),
    SIGNATURE_REFUSED(ErrorCategory.INVALID, "Signature refused"),
    POLICY_INVALID(ErrorCategory.INVALID, "Policy does not compile"),
    INVALID_TOOL_SCHEMA(ErrorCategory.INVALID, "Invalid tool schema"),
    TOOL_ARGUMENTS_INVALID(ErrorCategory.INVALID, "Tool arguments invalid"),
    UNKNOWN_REGION(ErrorCategory.INVALID, "Unknown region"),
    VALUE_OUT_OF_RANGE(ErrorCategory.INVALID, "Value out of range"),
    IDEMPOTENCY_KEY_REUSED(ErrorCategory.CONFLICT, "Idempotency key reused with a different request"),
    MISSING_CREDENTIALS(ErrorCategory.UNAUTHENTICATED, "Missing credentials"),
    INVALID_API_KEY(ErrorCategory.UNAUTHENTICATED, "Invalid API key"),
    REVOKED_API_KEY(ErrorCategory.UNAUTHENTICATED, "Revoked API key"),
    INVALID_TOKEN(ErrorCategory.UNAUTHENTICATED, "Invalid token"),
    TOKEN_ALGORITHM_REFUSED(ErrorCategory.UNAUTHENTICATED, "Token algorithm refused"),
    TOKEN_SIGNATURE_INVALID(ErrorCategory.UNAUTHENTICATED, "Token signature invalid"),
    TOKEN_EXPIRED(ErrorCategory.UNAUTHENTICATED, "Token expired"),
    TOKEN_AUDIENCE_MISMATCH(ErrorCategory.UNAUTHENTICATED, "Token audience mismatch"),
    INSUFFICIENT_SCOPE(ErrorCategory.FORBIDDEN, "Insufficient scope"),
    ADMIN_REQUIRED(ErrorCategory.FORBIDDEN, "Operator key required"),
    ADMISSION_DENIED(ErrorCategory.FORBIDDEN, "Admission denied by policy"),
    NOT_PUBLISHER(ErrorCategory.FORBIDDEN, "Not the capsule's publisher"),
    POLICY_DENIED(ErrorCategory.FORBIDDEN, "Denied by runtime policy"),
    EGRESS_REFUSED(ErrorCategory.FORBIDDEN, "Egress refused"),
    CSRF_TOKEN_INVALID(ErrorCategory.FORBIDDEN, "Form token missing or wrong"),
    NOT_FOUND(ErrorCategory.NOT_FOUND, "Not found"),
    METHOD_NOT_ALLOWED(ErrorCategory.METHOD_NOT_ALLOWED, "Method not allowed"),
    CONFLICT(ErrorCategory.CONFLICT, "Conflict"),
    TOOL_SECRET_MISSING(ErrorCategory.CONFLICT, "Tool secret missing"),
    CAPSULE_REVOKED(ErrorCategory.GONE, "Capsule version revoked"),
    BODY_TOO_LARGE(ErrorCategory.TOO_LARGE, "Request body too large"),
    URI_TOO_LONG(ErrorCategory.URI_TOO_LONG, "Request URI too long"),
    HEADERS_TOO_LARGE(ErrorCategory.HEADERS_TOO_LARGE, "Request headers too large"),
    UNSUPPORTED_MEDIA_TYPE(ErrorCategory.UNSUPPORTED_MEDIA, "Unsupported media type"),
    WRONG_REGION(ErrorCategory.MISDIRECTED, "Tenant is homed in another region"),
    RATE_LIMITED(ErrorCategory.QUOTA, "Rate limit exceeded"),
    BUDGET_EXHAUSTED(ErrorCategory.PAYMENT_REQUIRED, "Budget exhausted"),
    MEMORY_QUOTA_EXCEEDED(ErrorCategory.PAYMENT_REQUIRED, "Memory quota exceeded"),
    UPSTREAM_ERROR(ErrorCategory.UPSTREAM, "Model provider failed"),
    TOOL_FAILED(ErrorCategory.UPSTREAM, "Tool failed"),
    EXPORT_FAILED(ErrorCategory.UPSTREAM, "Usage export failed"),
    UPSTREAM_UNAVAILABLE(ErrorCategory.UNAVAILABLE, "No model provider available"),
    NOT_READY(ErrorCategory.UNAVAILABLE, "Not ready"),
    INTERNAL(ErrorCategory.INTERNAL, "Internal error");

    private final ErrorCategory category;
    private final String title;

    ErrorCode(ErrorCategory category, String title) {
        this.category = category;
        this.title = title;
    }

    public ErrorCategory category() {
        return category;
    }

    public int status() {
        return category.status();
    }

    public String title() {
        return title;
    }

    /** The stable RFC 9457 {@code type} URI of this code. */
    public String type() {
        return "https://somastack.io/problems/" + name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
