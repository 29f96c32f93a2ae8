package io.somastack.policy;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.List;
import java.util.Locale;

/** When a policy runs, and so which CEL variables it sees. */
public enum PolicyKind {
    /** At capsule install and update: {@code capsule}, {@code sbom}, {@code signatures}, {@code tenant}. */
    ADMISSION(List.of("capsule", "sbom", "signatures", "tenant")),
    /** On every turn and tool call: {@code request}, {@code caller}, {@code tenant}, {@code capsule}, {@code tool}, {@code model}. */
    RUNTIME(List.of("request", "caller", "tenant", "capsule", "tool", "model"));

    private final List<String> variables;

    PolicyKind(List<String> variables) {
        this.variables = variables;
    }

    /** The CEL variables policies of this kind may use, each a map. */
    public List<String> variables() {
        return variables;
    }

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static PolicyKind parse(String text) {
        for (PolicyKind kind : values()) {
            if (kind.wireName().equals(text)) {
                return kind;
            }
        }
        throw new SomaException(ErrorCode.INVALID_REQUEST, "A policy kind is 'admission' or 'runtime', not '%s'".formatted(text));
    }
}
