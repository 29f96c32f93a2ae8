package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import io.somastack.memory.Fact;
import io.somastack.memory.Provenance;
import io.somastack.memory.SourceKind;
import io.somastack.memory.StoredMemory;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;

/** Reads of one tenant's memories: a memory with its history, and the facts a recall returns. Thread-safe. */
public final class MemoryReads {
    private final Jdbi jdbi;

    public MemoryReads(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /**
     * The memory and its revisions as of one snapshot: read in two statements outside a
     * transaction, a reader could pair revisions read before an erasure committed with the
     * tombstone read after it, and show erased text on a deleted memory.
     */
    public Optional<StoredMemory> find(TenantId tenant, UUID memoryId) {
        return jdbi.inTransaction(TransactionIsolationLevel.REPEATABLE_READ, handle -> find(handle, tenant, memoryId));
    }

    /** As {@link #find(TenantId, UUID)}, in the caller's transaction, which decides the snapshot. */
    public Optional<StoredMemory> find(Handle handle, TenantId tenant, UUID memoryId) {
        List<StoredMemory.Revision> revisions = handle.createQuery("""
                SELECT * FROM memory_revisions WHERE tenant_id = :tenant AND memory_id = :memory ORDER BY number""")
                .bind("tenant", tenant.value()).bind("memory", memoryId).map((rs, ctx) -> revision(rs)).list();
        return handle.createQuery("SELECT * FROM memories WHERE tenant_id = :tenant AND id = :memory")
                .bind("tenant", tenant.value()).bind("memory", memoryId)
                .map((rs, ctx) -> new StoredMemory(rs.getObject("id", UUID.class), MemoryStore.scope(rs), MemoryStore.tags(rs, "tags"),
                        instant(rs, "expires_at"), rs.getTimestamp("created_at").toInstant(), rs.getTimestamp("updated_at").toInstant(),
                        Optional.ofNullable(rs.getObject("current_revision_id", UUID.class)), instant(rs, "deleted_at"), revisions))
                .findOne();
    }

    /**
     * The current revision of each given memory that is live, unexpired at {@code now} and in
     * the tenant, as facts with score 0; keyed by memory id.
     */
    public Map<UUID, Fact> facts(TenantId tenant, Collection<UUID> memoryIds, Instant now) {
        Map<UUID, Fact> facts = new HashMap<>();
        if (memoryIds.isEmpty()) {
            return facts;
        }
        jdbi.useHandle(handle -> handle.createQuery("""
                SELECT m.id, m.scope_kind, m.scope_id, m.tags, r.id AS revision_id, r.text, r.source_kind, r.source_reference,
                       r.author, r.observed_at, r.created_at
                  FROM memories m JOIN memory_revisions r ON r.id = m.current_revision_id
                 WHERE m.tenant_id = :tenant AND m.id = ANY(:ids) AND m.deleted_at IS NULL
                   AND (m.expires_at IS NULL OR m.expires_at > :now)""")
                .bind("tenant", tenant.value()).bind("ids", memoryIds.toArray(UUID[]::new)).bind("now", Timestamp.from(now))
                .map((rs, ctx) -> new Fact(rs.getObject("id", UUID.class), rs.getObject("revision_id", UUID.class), 0,
                        rs.getString("text"), MemoryStore.scope(rs), MemoryStore.tags(rs, "tags"), provenance(rs),
                        rs.getTimestamp("created_at").toInstant()))
                .forEach(fact -> facts.put(fact.memoryId(), fact)));
        return facts;
    }

    private static StoredMemory.Revision revision(ResultSet rs) throws SQLException {
        return new StoredMemory.Revision(rs.getObject("id", UUID.class), rs.getInt("number"), Optional.ofNullable(rs.getString("text")),
                Optional.ofNullable(rs.getString("content_sha256")), rs.getString("embedding_model"), rs.getInt("embedding_dimension"),
                provenance(rs), MemoryStore.tags(rs, "tags"), rs.getTimestamp("created_at").toInstant(), rs.getString("created_by"),
                instant(rs, "erased_at"));
    }

    private static Provenance provenance(ResultSet rs) throws SQLException {
        return new Provenance(SourceKind.parse(rs.getString("source_kind")), Optional.ofNullable(rs.getString("source_reference")),
                Optional.ofNullable(rs.getString("author")), instant(rs, "observed_at"));
    }

    private static Optional<Instant> instant(ResultSet rs, String column) throws SQLException {
        return Optional.ofNullable(rs.getTimestamp(column)).map(Timestamp::toInstant);
    }
}
