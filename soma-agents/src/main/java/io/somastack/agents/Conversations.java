package io.somastack.agents;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.internal.AgentLoader;
import io.somastack.agents.internal.ConversationStore;
import io.somastack.gateway.Principal;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.StorableText;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Conversations with agents, per tenant: created for an installed, runnable agent; each run in
 * one appends the user's input and the agent's answer. Thread-safe.
 */
public final class Conversations {
    /** At most this many metadata entries, each key at most 64 and each value at most 512 characters. */
    public static final int MAX_METADATA = 16;

    private final ConversationStore store;
    private final AgentLoader agents;
    private final GroupCommit commit;
    private final Clock clock;
    private final Ids ids;

    Conversations(ConversationStore store, AgentLoader agents, GroupCommit commit, Clock clock, Ids ids) {
        this.store = requireNonNull(store, "store is null");
        this.agents = requireNonNull(agents, "agents is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    /** A new conversation with {@code agent} (404 when not installed, 410 when revoked). */
    public Conversation create(Principal principal, String requestId, String agent, Map<String, String> metadata) {
        if (metadata.size() > MAX_METADATA) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "metadata has %d entries; the limit is %d".formatted(metadata.size(), MAX_METADATA));
        }
        metadata.forEach((key, value) -> {
            if (value == null) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "metadata.%s must be a string".formatted(key.length() > 64 ? key.substring(0, 64) + "…" : key),
                        Map.of("field", "metadata"));
            }
            if (key.isEmpty() || key.length() > 64 || value.length() > 512) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "metadata keys are 1 to 64 characters and values at most 512 (key '%s')"
                        .formatted(key.length() > 64 ? key.substring(0, 64) + "…" : key));
            }
            StorableText.require("metadata", key);
            StorableText.require("metadata." + key, value);
        });
        agents.runnable(principal.tenant().id(), agent);
        UUID id = ids.next();
        Instant now = clock.now();
        commit.execute(tx -> {
            store.insert(tx, id, principal.tenant().id(), agent, metadata, now, principal.actor());
            tx.audit(new AuditEntry(Optional.of(principal.tenant().id()), principal.actor(), "agent.conversation.create", id.toString(), requestId,
                    Map.of("agent", agent)));
            return null;
        });
        return new Conversation(id, principal.tenant().id(), agent, metadata, now, List.of());
    }

    /** The tenant's conversation with its messages, or 404 (also for another tenant's). */
    public Conversation require(TenantId tenant, UUID id) {
        return store.find(tenant, id).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No conversation %s in this tenant".formatted(id)));
    }
}
