package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.Conversation;
import io.somastack.gateway.Principal;
import io.somastack.kernel.Money;
import io.somastack.metering.Reservation;
import io.somastack.models.ToolChoice;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * Everything a run's loop starts from, decided before the run was accepted: who runs which
 * agent with what input, the routed model, the policy decision that allowed it, the budget it
 * reserved, and its limits.
 *
 * @param firstToolChoice how the first model call must use tools (later calls choose freely)
 * @param budget the most the run may cost; {@code reservation} holds it against the tenant's and key's budgets
 */
public record RunContext(LiveRun live, Principal principal, String requestId, AgentSpec agent, Optional<Conversation> conversation,
        String input, Optional<ToolChoice> firstToolChoice, String model, UUID policyDecisionId, Reservation reservation, Money budget,
        int maxSteps, int maxToolCalls, Instant deadline, Instant startedAt, long startedNanos) {
    public RunContext {
        requireNonNull(live, "live is null");
        requireNonNull(principal, "principal is null");
        requireNonNull(requestId, "requestId is null");
        requireNonNull(agent, "agent is null");
        requireNonNull(conversation, "conversation is null");
        requireNonNull(input, "input is null");
        requireNonNull(firstToolChoice, "firstToolChoice is null");
        requireNonNull(model, "model is null");
        requireNonNull(policyDecisionId, "policyDecisionId is null");
        requireNonNull(reservation, "reservation is null");
        requireNonNull(budget, "budget is null");
        requireNonNull(deadline, "deadline is null");
        requireNonNull(startedAt, "startedAt is null");
    }

    public UUID runId() {
        return live.id();
    }
}
