package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.Principal;
import io.somastack.gateway.Tenant;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.MeteredModels;
import io.somastack.models.Route;
import io.somastack.models.StreamSink;
import io.somastack.models.UsageMeter;
import io.somastack.store.AuditEntry;
import io.somastack.store.Tx;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.function.BiConsumer;

/**
 * {@link ModelStep} through soma-models' {@link MeteredModels}: the router's fallbacks and
 * circuit breakers, one ledger row and audit entry per call, the token rate limit. The run's
 * reservation already holds the call's cost against the tenant's and key's budgets, so the call
 * is made for the caller without budgets (it holds nothing more). Thread-safe.
 */
public final class MeteredModelStep implements ModelStep {
    private final MeteredModels models;
    private final UsageMeter meter;

    public MeteredModelStep(MeteredModels models, UsageMeter meter) {
        this.models = requireNonNull(models, "models is null");
        this.meter = requireNonNull(meter, "meter is null");
    }

    @Override
    public boolean knows(String alias) {
        try {
            models.router().route(alias);
            return true;
        } catch (SomaException e) {
            if (e.code() == ErrorCode.UNKNOWN_MODEL) {
                return false;
            }
            throw e;
        }
    }

    @Override
    public void checkContext(ChatRequest request) {
        Route route = models.router().route(request.model());
        OptionalInt window = route.contextSize();
        if (window.isEmpty()) {
            return;
        }
        int tokens = route.countPromptTokens(request);
        if (tokens >= window.getAsInt()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, ("The input with the agent's prompt and the conversation so far comes to %d tokens; "
                    + "model %s (%s) holds %d").formatted(tokens, request.model(), route.primary().upstreamModel(), window.getAsInt()),
                    Map.of("prompt_tokens", tokens, "context_size", window.getAsInt(), "model", request.model()));
        }
    }

    @Override
    public Money worstCase(ChatRequest request) {
        return meter.price(models.worstCase(request));
    }

    @Override
    public Metered stream(Principal principal, UUID runId, UUID reservationId, String capsule, ChatRequest request, StreamSink sink,
            BiConsumer<Tx, Metered> sameTransaction) {
        Tenant tenant = principal.tenant();
        Principal covered = new Principal(new Tenant(tenant.id(), tenant.name(), tenant.tier(), tenant.homeRegion(), Optional.empty(),
                tenant.createdAt()), principal.keyId(), principal.scopes(), Optional.empty(), principal.via());
        AuditEntry audit = new AuditEntry(Optional.of(tenant.id()), principal.actor(), "agent.model.call", request.model(), runId.toString(),
                Map.of("run_id", runId.toString(), "model", request.model()));
        MeteredModels.Call<ChatResult> call = new MeteredModels.Call<ChatResult>(runId.toString(), Optional.empty(), audit,
                (tx, billed) -> sameTransaction.accept(tx, metered(billed))).inCapsule(capsule);
        return metered(models.stream(covered, request, call, sink));
    }

    private static Metered metered(MeteredModels.Billed<ChatResult> billed) {
        return new Metered(billed.result(), billed.ledgerId(), billed.cost());
    }
}
