package io.somastack.agents;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** A conversation with an agent: its messages in order, each written by a run. */
public record Conversation(UUID id, TenantId tenant, String agent, Map<String, String> metadata, Instant createdAt, List<Message> messages) {
    public Conversation {
        requireNonNull(id, "id is null");
        requireNonNull(tenant, "tenant is null");
        requireNonNull(agent, "agent is null");
        metadata = Map.copyOf(metadata);
        requireNonNull(createdAt, "createdAt is null");
        messages = List.copyOf(messages);
    }

    /** One message: the user's input or the agent's answer, with the run that wrote it. */
    public record Message(int seq, String role, String content, UUID runId, Instant createdAt) {
        public Message {
            requireNonNull(role, "role is null");
            requireNonNull(content, "content is null");
            requireNonNull(runId, "runId is null");
            requireNonNull(createdAt, "createdAt is null");
        }
    }

    public Map<String, Object> wire() {
        Map<String, Object> wire = new LinkedHashMap<>();
        wire.put("id", id.toString());
        wire.put("object", "agent.conversation");
        wire.put("agent", agent);
        wire.put("metadata", new java.util.TreeMap<>(metadata));
        wire.put("created_at", createdAt.toString());
        wire.put("messages", messages.stream().map(message -> Map.of("seq", message.seq(), "role", message.role(), "content", message.content(),
                "run_id", message.runId().toString(), "created_at", message.createdAt().toString())).toList());
        return wire;
    }
}
