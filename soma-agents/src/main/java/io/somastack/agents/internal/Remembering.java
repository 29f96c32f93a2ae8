package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.memory.Caller;
import io.somastack.memory.Memories;
import io.somastack.memory.NewMemory;
import io.somastack.memory.Provenance;
import io.somastack.memory.Remembered;
import io.somastack.memory.Scope;
import io.somastack.memory.SourceKind;
import io.somastack.models.ToolDefinition;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * A run's memory as the capsule's manifest grants it: the scopes a run recalls from
 * ({@code memory.scopes}) and the built-in {@code remember} tool, offered only when the manifest
 * grants scopes to write ({@code memory.write}). A fact is stored through {@link Memories} under
 * the run's tenant and key, in a granted scope only, with the run as its source. Thread-safe.
 */
public final class Remembering {
    /** The built-in tool's name. */
    public static final String TOOL = "remember";

    private final Memories memories;
    private final Clock clock;

    public Remembering(Memories memories, Clock clock) {
        this.memories = requireNonNull(memories, "memories is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** What a {@code remember} call came to: stored, refused (back to the model, nothing written) or arguments not matching its schema. */
    public sealed interface Outcome permits Stored, Refused, Invalid {
    }

    public record Stored(Remembered remembered, Scope scope) implements Outcome {
    }

    public record Refused(String message, String reason) implements Outcome {
    }

    public record Invalid(List<Map<String, Object>> errors) implements Outcome {
    }

    /** True when the run offers the built-in tool: the manifest grants a scope to write and declares no tool of that name itself. */
    public static boolean offered(AgentSpec agent) {
        return !agent.memoryWrite().isEmpty() && agent.manifest().tools().stream().noneMatch(tool -> tool.name().equals(TOOL));
    }

    /** The tool as the model sees it: {@code {text, scope?}}, the scope one of the granted kinds, the first by default. */
    public static ToolDefinition definition(AgentSpec agent) {
        Map<String, Object> schema = new LinkedHashMap<>();
        schema.put("type", "object");
        schema.put("properties", Map.of(
                "text", Map.of("type", "string", "description", "The fact to remember, in one sentence."),
                "scope", Map.of("type", "string", "enum", agent.memoryWrite(),
                        "description", "Where to keep it; %s when absent.".formatted(agent.memoryWrite().getFirst()))));
        schema.put("required", List.of("text"));
        schema.put("additionalProperties", false);
        return ToolDefinition.function(TOOL, "Remember a fact for later runs of this agent.", Json.mapper().valueToTree(schema));
    }

    /** The memory caller of a run: its tenant and key, with the key's agent restriction; the run id as request id. */
    public static Caller caller(RunContext run) {
        return new Caller(run.principal().tenant().id(), run.principal().keyId(), run.principal().actor(), run.principal().agentRestriction(),
                run.runId().toString());
    }

    /**
     * The scope of {@code kind} for this run: {@code tenant}; {@code agent} = the capsule's name; {@code conversation} = the
     * conversation id; {@code user} = the conversation's {@code metadata.user}. Empty when the run has none (a one-shot run has no
     * conversation) or the kind is unknown.
     */
    public static Optional<Scope> scope(RunContext run, String kind) {
        return switch (kind) {
            case "tenant" -> Optional.of(Scope.tenant());
            case "agent" -> Optional.of(Scope.of("agent", run.agent().installed().name()));
            case "conversation" -> run.conversation().map(conversation -> Scope.of("conversation", conversation.id().toString()));
            case "user" -> run.conversation().map(conversation -> conversation.metadata().get("user")).map(user -> Scope.of("user", user));
            default -> Optional.empty();
        };
    }

    /** Stores the fact of one {@code remember} call, or says why not; never writes outside the granted scopes. */
    public Outcome remember(RunContext run, JsonNode arguments) {
        List<String> granted = run.agent().memoryWrite();
        JsonNode text = arguments.get("text");
        JsonNode scopeKind = arguments.get("scope");
        if (text == null || !text.isString() || text.asString().isBlank()) {
            return new Invalid(List.of(Map.of("pointer", "/text", "message", "text is required: a non-blank string")));
        }
        if (scopeKind != null && !scopeKind.isNull() && !scopeKind.isString()) {
            return new Invalid(List.of(Map.of("pointer", "/scope", "message", "scope must be a string, one of " + granted)));
        }
        String kind = scopeKind == null || scopeKind.isNull() ? granted.getFirst() : scopeKind.asString().toLowerCase(Locale.ROOT);
        if (!granted.contains(kind)) {
            return new Refused("Agent %s may not write memory scope '%s'; it may write %s".formatted(run.agent().installed().name(),
                    scopeKind.asString(), granted), "scope_not_granted");
        }
        Optional<Scope> scope = scope(run, kind);
        if (scope.isEmpty()) {
            return new Refused("This run has no %s scope (%s)".formatted(kind, kind.equals("user")
                    ? "its conversation's metadata names no user" : "it is not part of a conversation"), "scope_unavailable");
        }
        Provenance source = new Provenance(SourceKind.AGENT, Optional.of("run:" + run.runId()),
                Optional.of(run.agent().installed().name() + "@" + run.agent().installed().version()), Optional.of(clock.now()));
        Caller caller = caller(run);
        if (!caller.mayWrite(scope.get())) {
            // Memory refuses it too; asked first so the model hears which scope and why.
            return new Refused("This run's key is restricted to agents %s and may not write scope %s".formatted(caller.agents(), scope.get()),
                    "insufficient_scope");
        }
        try {
            Remembered remembered = memories.remember(caller, List.of(new NewMemory(text.asString(), scope.get(), List.of(), source,
                    Optional.empty())), Optional.empty()).results().getFirst();
            return new Stored(remembered, scope.get());
        } catch (SomaException e) {
            // The key's own rights, the text's size, the tenant's quota: the model hears why, and nothing was written.
            return new Refused(e.detail(), e.code().name().toLowerCase(Locale.ROOT));
        }
    }
}
