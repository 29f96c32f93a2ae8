package io.somastack.models;

import java.util.List;
import java.util.OptionalInt;

/**
 * What the router would try for a model id, in order. Used before the call to reserve
 * budget: the reservation counts the prompt with the first target's tokenizer.
 *
 * @param model the canonical model id (the alias the client named)
 * @param targets the targets tried in order, never empty
 */
public record Route(String model, List<RouteTarget> targets) {

    public Route {
        targets = List.copyOf(targets);
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("route %s has no target".formatted(model));
        }
    }

    public RouteTarget primary() {
        return targets.getFirst();
    }

    /** The first target's context window, when its provider knows it. */
    public OptionalInt contextSize() {
        return primary().provider().contextSize();
    }

    /** Prompt tokens as the first target's provider counts them. */
    public int countPromptTokens(ChatRequest request) {
        return primary().provider().countPromptTokens(request);
    }
}
