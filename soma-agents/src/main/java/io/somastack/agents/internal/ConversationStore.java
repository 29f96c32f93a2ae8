package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.Conversation;
import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import io.somastack.store.Tx;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.core.type.TypeReference;

/** Conversations and their messages in PostgreSQL; every read is filtered by tenant. Thread-safe. */
public final class ConversationStore {
    private final Jdbi jdbi;

    public ConversationStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    public void insert(Tx tx, UUID id, TenantId tenant, String agent, Map<String, String> metadata, Instant at, String actor) {
        tx.handle().createUpdate("""
                INSERT INTO agent_conversations (id, tenant_id, agent, metadata, created_at, created_by)
                VALUES (:id, :tenant, :agent, CAST(:metadata AS jsonb), :at, :actor)""")
                .bind("id", id).bind("tenant", tenant.value()).bind("agent", agent).bind("metadata", Json.text(metadata))
                .bind("at", Timestamp.from(at)).bind("actor", actor).execute();
    }

    public Optional<Conversation> find(TenantId tenant, UUID id) {
        return jdbi.withHandle(handle -> {
            Optional<Conversation> head = handle.createQuery("SELECT * FROM agent_conversations WHERE tenant_id = :tenant AND id = :id")
                    .bind("tenant", tenant.value()).bind("id", id)
                    .map((rs, ctx) -> new Conversation(id, tenant, rs.getString("agent"), metadata(rs.getString("metadata")),
                            rs.getTimestamp("created_at").toInstant(), List.of()))
                    .findOne();
            if (head.isEmpty()) {
                return head;
            }
            List<Conversation.Message> messages = handle.createQuery("""
                    SELECT * FROM agent_messages WHERE tenant_id = :tenant AND conversation_id = :id ORDER BY seq""")
                    .bind("tenant", tenant.value()).bind("id", id)
                    .map((rs, ctx) -> new Conversation.Message(rs.getInt("seq"), rs.getString("role"), rs.getString("content"),
                            (UUID) rs.getObject("run_id"), rs.getTimestamp("created_at").toInstant()))
                    .list();
            Conversation conversation = head.get();
            return Optional.of(new Conversation(conversation.id(), tenant, conversation.agent(), conversation.metadata(), conversation.createdAt(),
                    messages));
        });
    }

    /** Appends a run's user input and answer to the conversation, after its last message (the conversation row is locked meanwhile). */
    public void append(Tx tx, TenantId tenant, UUID conversationId, UUID runId, String input, String answer, Instant at) {
        tx.handle().createQuery("SELECT id FROM agent_conversations WHERE tenant_id = :tenant AND id = :id FOR UPDATE")
                .bind("tenant", tenant.value()).bind("id", conversationId).mapTo(UUID.class).one();
        int next = tx.handle().createQuery("SELECT COALESCE(max(seq), 0) + 1 FROM agent_messages WHERE conversation_id = :id")
                .bind("id", conversationId).mapTo(Integer.class).one();
        Map<String, String> messages = new LinkedHashMap<>();
        messages.put("user", input);
        messages.put("assistant", answer);
        for (Map.Entry<String, String> message : messages.entrySet()) {
            tx.handle().createUpdate("""
                    INSERT INTO agent_messages (conversation_id, seq, tenant_id, run_id, role, content, created_at)
                    VALUES (:conversation, :seq, :tenant, :run, :role, :content, :at)""")
                    .bind("conversation", conversationId).bind("seq", next++).bind("tenant", tenant.value()).bind("run", runId)
                    .bind("role", message.getKey()).bind("content", message.getValue()).bind("at", Timestamp.from(at)).execute();
        }
    }

    private static Map<String, String> metadata(String json) {
        return Json.mapper().readValue(json, new TypeReference<Map<String, String>>() {
        });
    }
}
