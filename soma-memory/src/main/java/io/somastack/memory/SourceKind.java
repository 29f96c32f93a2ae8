package io.somastack.memory;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.Arrays;
import java.util.Locale;

/** Where a remembered fact came from; part of its {@link Provenance}. */
public enum SourceKind {
    CONVERSATION,
    TOOL,
    DOCUMENT,
    USER,
    AGENT;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a wire name or throws {@link ErrorCode#INVALID_REQUEST} listing the known kinds. */
    public static SourceKind parse(String text) {
        for (SourceKind kind : values()) {
            if (kind.wireName().equals(text)) {
                return kind;
            }
        }
        throw new SomaException(ErrorCode.INVALID_REQUEST, "Unknown provenance kind '%s'; use one of %s"
                .formatted(text, Arrays.stream(values()).map(SourceKind::wireName).toList()));
    }
}
