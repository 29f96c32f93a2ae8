package io.somastack.memory;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.Arrays;
import java.util.Locale;

/** The kinds of scope a memory lives in: shared by the tenant, or private to one agent, user or conversation. */
public enum ScopeKind {
    TENANT,
    AGENT,
    USER,
    CONVERSATION;

    /** The name on the wire and in the database: {@code tenant}, {@code agent}, ... */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a wire name or throws {@link ErrorCode#INVALID_REQUEST} listing the known kinds. */
    public static ScopeKind parse(String text) {
        for (ScopeKind kind : values()) {
            if (kind.wireName().equals(text)) {
                return kind;
            }
        }
        throw new SomaException(ErrorCode.INVALID_REQUEST, "Unknown scope kind '%s'; use one of %s"
                .formatted(text, Arrays.stream(values()).map(ScopeKind::wireName).toList()));
    }
}
