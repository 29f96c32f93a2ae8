package io.somastack.policy;

import static java.util.Objects.requireNonNull;

/**
 * Who asked for a change or a decision, as the audit log names it.
 *
 * @param name the audit actor, e.g. {@code key:<id>} or {@code operator}
 * @param requestId the request id the client saw
 */
public record Actor(String name, String requestId) {
    public Actor {
        requireNonNull(name, "name is null");
        requireNonNull(requestId, "requestId is null");
    }
}
