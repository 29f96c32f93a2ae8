package io.somastack.agents.internal;

import io.somastack.gateway.Principal;
import io.somastack.kernel.Money;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.StreamSink;
import io.somastack.store.Tx;
import java.util.UUID;
import java.util.function.BiConsumer;

/**
 * The metered model call of one step of the loop: the one seam between the loop and the
 * models capability. The call is billed to {@code principal}'s tenant in the ledger under the
 * run's id as request id; the run already holds the budget reservation that covers it, so the
 * step reserves nothing itself.
 */
public interface ModelStep {

    /** True when {@code alias} names a model this server routes. */
    boolean knows(String alias);

    /**
     * Refuses (400, with the numbers) a first request whose prompt alone fills the context window
     * of the model {@code request} names, when the server knows that window; else does nothing.
     */
    void checkContext(ChatRequest request);

    /** The most {@code request} may cost: its prompt and {@code max_tokens} at the dearest target's price. */
    Money worstCase(ChatRequest request);

    /**
     * Streams {@code request} to {@code sink} (which returns false to stop generation), then writes
     * its ledger row, which names {@code capsule} (the installed capsule whose agent runs), and, in
     * the same transaction, what {@code sameTransaction} writes with the call's result (the step's
     * events), so a step costs one durable commit.
     */
    Metered stream(Principal principal, UUID runId, UUID reservationId, String capsule, ChatRequest request, StreamSink sink,
            BiConsumer<Tx, Metered> sameTransaction);

    /** A model call's result, its ledger row and its cost. */
    record Metered(ChatResult result, UUID ledgerId, Money cost) {
    }
}
