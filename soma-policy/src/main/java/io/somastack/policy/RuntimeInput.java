package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * What a runtime policy sees besides {@code tenant}: plain maps of strings, numbers,
 * booleans, lists and maps, as the turn loop and tool broker describe the call. Fields a
 * caller does not know are left out; policies guard them with {@code has()}.
 *
 * <pre>{@code
 * new RuntimeInput(Map.of("kind", "tool_call"), Map.of("key_id", keyId), capsule.manifest().document(),
 *         Map.of("name", "fetch", "host", "api.weather.example"), Map.of("id", "gpt-4o-mini"));
 * }</pre>
 */
public record RuntimeInput(Map<String, Object> request, Map<String, Object> caller, Map<String, Object> capsule,
        Map<String, Object> tool, Map<String, Object> model) {
    public RuntimeInput {
        requireNonNull(request, "request is null");
        requireNonNull(caller, "caller is null");
        requireNonNull(capsule, "capsule is null");
        requireNonNull(tool, "tool is null");
        requireNonNull(model, "model is null");
    }

    /** The subject a decision is filed under: the capsule name, else {@code runtime}. */
    public String subject() {
        Object name = capsule.get("name");
        return name instanceof String text ? text : "runtime";
    }
}
