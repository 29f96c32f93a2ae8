package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.marketplace.Installed;
import io.somastack.policy.CapsuleManifest;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An agent as the loop runs it: the installed capsule and what its manifest says about
 * running (system prompt, preferred models, memory scopes, the scopes a run may write, the most
 * a run may cost, and the limits it lowers).
 *
 * @param memoryWrite the manifest's {@code memory.write}: the scope kinds the built-in {@code remember} tool may write; empty, no tool
 * @param limits the manifest's {@code limits} ({@code max_steps}, {@code max_tool_calls}, {@code max_wall_seconds}) when it declares them
 */
public record AgentSpec(Installed installed, CapsuleManifest manifest, Optional<String> systemPrompt, List<String> preferredModels,
        List<String> memoryScopes, List<String> memoryWrite, Money maxBudgetPerRun, Map<String, Integer> limits) {
    public AgentSpec {
        requireNonNull(installed, "installed is null");
        requireNonNull(manifest, "manifest is null");
        requireNonNull(systemPrompt, "systemPrompt is null");
        preferredModels = List.copyOf(preferredModels);
        memoryScopes = List.copyOf(memoryScopes);
        memoryWrite = List.copyOf(memoryWrite);
        requireNonNull(maxBudgetPerRun, "maxBudgetPerRun is null");
        limits = Map.copyOf(limits);
    }

    /** True when the manifest declares tools (the run must offer them all, or not run). */
    public boolean declaresTools() {
        return !manifest.tools().isEmpty();
    }

    public static AgentSpec of(Installed installed, CapsuleManifest manifest) {
        Map<String, Object> document = manifest.document();
        Optional<String> systemPrompt = Optional.ofNullable(document.get("system_prompt")).map(String::valueOf);
        List<String> preferred = strings(section(document, "model").get("preferred"));
        List<String> scopes = strings(section(document, "memory").get("scopes"));
        List<String> write = strings(section(document, "memory").get("write"));
        Map<String, Integer> limits = new java.util.LinkedHashMap<>();
        section(document, "limits").forEach((key, value) -> {
            if (value instanceof Number number) {
                limits.put(key, number.intValue());
            }
        });
        return new AgentSpec(installed, manifest, systemPrompt, preferred, scopes, write, Money.of(manifest.maxBudgetPerRunUsd()), limits);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> section(Map<String, Object> document, String name) {
        return document.get(name) instanceof Map<?, ?> map ? (Map<String, Object>) map : Map.of();
    }

    private static List<String> strings(Object value) {
        return value instanceof List<?> list ? list.stream().map(String::valueOf).toList() : List.of();
    }
}
