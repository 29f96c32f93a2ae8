package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import io.somastack.memory.NewMemory;
import io.somastack.memory.Scope;
import io.somastack.memory.ScopeKind;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;

/**
 * Memories, revisions and the change sequence in PostgreSQL. Every method that touches one
 * tenant's data takes its {@link TenantId}; the index feed ({@link #changesAfter},
 * {@link #indexState}) reads across tenants, because the index serves them all. Writes run
 * inside the caller's transaction after {@link #lockChanges}. Thread-safe.
 */
public final class MemoryStore {
    private static final String CANDIDATE_COLUMNS = """
            m.id, m.scope_kind, m.scope_id, m.deleted_at, r.id AS revision_id, r.content_sha256, r.embedding, r.embedding_model""";

    private final Jdbi jdbi;

    public MemoryStore(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /**
     * Locks the change-sequence head until the transaction ends, so that memory writes are
     * serialized and their seqs commit in order; returns the last seq.
     */
    public long lockChanges(Handle handle) {
        return handle.createQuery("SELECT seq FROM memory_change_head WHERE id = 1 FOR UPDATE").mapTo(Long.class).one();
    }

    /** Appends a change (the head must be locked); returns its seq. */
    public long appendChange(Handle handle, TenantId tenant, UUID memoryId, String kind, Instant at) {
        return appendChanges(handle, tenant, List.of(memoryId), List.of(kind), at);
    }

    /** Memories of the tenant changed after {@code seq}, deleted ones included, as the duplicate check sees them. */
    public List<Candidate> changedSince(Handle handle, TenantId tenant, long seq) {
        return handle.createQuery("SELECT " + CANDIDATE_COLUMNS + """
                 FROM memories m JOIN memory_revisions r ON r.id = m.current_revision_id
                WHERE m.tenant_id = :tenant
                  AND m.id IN (SELECT memory_id FROM memory_changes WHERE tenant_id = :tenant AND seq > :seq)""")
                .bind("tenant", tenant.value()).bind("seq", seq).map((rs, ctx) -> candidate(rs)).list();
    }

    /** The number the next revision of a memory gets, as committed before this transaction's own writes. */
    public int nextRevisionNumber(Handle handle, TenantId tenant, UUID memoryId) {
        return handle.createQuery("SELECT revisions FROM memories WHERE tenant_id = :tenant AND id = :memory")
                .bind("tenant", tenant.value()).bind("memory", memoryId).mapTo(Integer.class).one() + 1;
    }

    /**
     * Stores the new memories and revisions of one remember, in input order, with one change per
     * write (the head must be locked); returns the last seq, 0 when there is nothing to write. A few
     * batched statements for the whole remember instead of five round trips per memory: the new
     * memories (already pointing at their first revision, tags sorted and distinct), every revision,
     * the new state of revised memories (tags become the union), and the changes, whose seqs are
     * taken from the head at once (one statement, so one notification trigger).
     */
    public long writeAll(Handle handle, TenantId tenant, List<Write> writes, String model, Instant at, String actor, String requestId) {
        if (writes.isEmpty()) {
            return 0;
        }
        Timestamp now = Timestamp.from(at);
        PreparedBatch memories = handle.prepareBatch("""
                INSERT INTO memories (id, tenant_id, scope_kind, scope_id, current_revision_id, revisions, tags, expires_at,
                                      created_at, created_by, updated_at)
                VALUES (:id, :tenant, :kind, :scope, :revision, 1, ARRAY(SELECT DISTINCT unnest(CAST(:tags AS TEXT[])) ORDER BY 1),
                        :expires, :at, :actor, :at)""");
        PreparedBatch revisions = handle.prepareBatch("""
                INSERT INTO memory_revisions (id, memory_id, tenant_id, number, text, content_sha256, text_bytes, embedding,
                    embedding_model, embedding_dimension, source_kind, source_reference, author, observed_at, tags, created_at,
                    created_by, request_id)
                VALUES (:id, :memory, :tenant, :number, :text, :sha, :bytes, :embedding, :model, :dimension, :source, :reference,
                    :author, :observed, :tags, :at, :actor, :request)""");
        PreparedBatch revised = handle.prepareBatch("""
                UPDATE memories SET current_revision_id = :revision, revisions = :number, updated_at = :at, expires_at = :expires,
                       tags = ARRAY(SELECT DISTINCT unnest(tags || CAST(:tags AS TEXT[])) ORDER BY 1)
                 WHERE id = :memory AND tenant_id = :tenant""");
        for (Write write : writes) {
            NewMemory memory = write.memory();
            String[] tags = memory.tags().toArray(String[]::new);
            Timestamp expires = write.expiresAt().map(Timestamp::from).orElse(null);
            if (write.created()) {
                memories.bind("id", write.memoryId()).bind("tenant", tenant.value()).bind("kind", memory.scope().kind().wireName())
                        .bind("scope", memory.scope().id()).bind("revision", write.revisionId()).bind("tags", tags).bind("expires", expires)
                        .bind("at", now).bind("actor", actor).add();
            } else {
                revised.bind("revision", write.revisionId()).bind("number", write.number()).bind("at", now).bind("expires", expires)
                        .bind("tags", tags).bind("memory", write.memoryId()).bind("tenant", tenant.value()).add();
            }
            revisions.bind("id", write.revisionId()).bind("memory", write.memoryId()).bind("tenant", tenant.value())
                    .bind("number", write.number()).bind("text", memory.text()).bind("sha", write.contentSha256())
                    .bind("bytes", Texts.bytes(memory.text())).bind("embedding", Vectors.toBytes(write.embedding())).bind("model", model)
                    .bind("dimension", write.embedding().length).bind("source", memory.provenance().kind().wireName())
                    .bind("reference", memory.provenance().reference().orElse(null)).bind("author", memory.provenance().author().orElse(null))
                    .bind("observed", memory.provenance().observedAt().map(Timestamp::from).orElse(null)).bind("tags", tags)
                    .bind("at", now).bind("actor", actor).bind("request", requestId).add();
        }
        // Memories first (revisions reference them), then revisions, then the revised memories' new state in input order.
        for (PreparedBatch batch : List.of(memories, revisions, revised)) {
            if (batch.size() > 0) {
                batch.execute();
            }
        }
        return appendChanges(handle, tenant, writes.stream().map(Write::memoryId).toList(),
                writes.stream().map(write -> write.created() ? "created" : "revised").toList(), at);
    }

    /** Appends one change per memory, of the given kinds, with consecutive seqs (the head must be locked); returns the last. */
    private static long appendChanges(Handle handle, TenantId tenant, List<UUID> memories, List<String> kinds, Instant at) {
        long last = handle.createQuery("UPDATE memory_change_head SET seq = seq + :count WHERE id = 1 RETURNING seq")
                .bind("count", memories.size()).mapTo(Long.class).one();
        PreparedBatch changes = handle.prepareBatch("INSERT INTO memory_changes (seq, tenant_id, memory_id, kind, at) VALUES (:seq, :tenant, :memory, :kind, :at)");
        long seq = last - memories.size();
        for (int i = 0; i < memories.size(); i++) {
            changes.bind("seq", ++seq).bind("tenant", tenant.value()).bind("memory", memories.get(i)).bind("kind", kinds.get(i))
                    .bind("at", Timestamp.from(at)).add();
        }
        changes.execute();
        return last;
    }

    /**
     * One memory write of a remember: a new memory with its first revision ({@code created}), or revision
     * {@code number} of an existing one.
     */
    public record Write(UUID memoryId, UUID revisionId, boolean created, int number, NewMemory memory, String contentSha256, float[] embedding,
            Optional<Instant> expiresAt) {
    }

    /** Live memory ids of a scope, locked for erasure. */
    public List<UUID> liveInScope(Handle handle, TenantId tenant, Scope scope) {
        return handle.createQuery("""
                SELECT id FROM memories WHERE tenant_id = :tenant AND scope_kind = :kind AND scope_id = :scope AND deleted_at IS NULL
                ORDER BY id FOR UPDATE""")
                .bind("tenant", tenant.value()).bind("kind", scope.kind().wireName()).bind("scope", scope.id())
                .mapTo(UUID.class).list();
    }

    /** Erases text, hash and embedding of every revision and marks the memory deleted; returns the text bytes freed. */
    public long erase(Handle handle, TenantId tenant, UUID memoryId, Instant at, String actor, String reason) {
        long bytes = handle.createQuery("SELECT coalesce(sum(text_bytes), 0) FROM memory_revisions WHERE tenant_id = :tenant AND memory_id = :memory")
                .bind("tenant", tenant.value()).bind("memory", memoryId).mapTo(Long.class).one();
        handle.createUpdate("""
                UPDATE memory_revisions SET text = NULL, content_sha256 = NULL, embedding = NULL, erased_at = :at
                 WHERE tenant_id = :tenant AND memory_id = :memory""")
                .bind("at", Timestamp.from(at)).bind("tenant", tenant.value()).bind("memory", memoryId).execute();
        handle.createUpdate("""
                UPDATE memories SET deleted_at = :at, deleted_by = :actor, deleted_reason = :reason, updated_at = :at
                 WHERE tenant_id = :tenant AND id = :memory""")
                .bind("at", Timestamp.from(at)).bind("actor", actor).bind("reason", reason).bind("tenant", tenant.value())
                .bind("memory", memoryId).execute();
        return bytes;
    }

    /** The tenant's live memory count and text bytes. */
    public Usage usage(Handle handle, TenantId tenant) {
        return handle.createQuery("SELECT memories, bytes FROM memory_usage WHERE tenant_id = :tenant").bind("tenant", tenant.value())
                .map((rs, ctx) -> new Usage(rs.getLong("memories"), rs.getLong("bytes"))).findOne().orElse(new Usage(0, 0));
    }

    /**
     * Adds to the tenant's usage. A tenant's first write also starts its storage meter at
     * {@code at}, so that its first MB-hours count from when it began to store.
     */
    public void addUsage(Handle handle, TenantId tenant, long memories, long bytes, Instant at) {
        boolean created = handle.createQuery("""
                INSERT INTO memory_usage (tenant_id, memories, bytes) VALUES (:tenant, :memories, :bytes)
                ON CONFLICT (tenant_id) DO UPDATE SET memories = memory_usage.memories + :memories, bytes = memory_usage.bytes + :bytes
                RETURNING (xmax = 0) AS created""")
                .bind("tenant", tenant.value()).bind("memories", memories).bind("bytes", bytes).mapTo(Boolean.class).one();
        if (created) {
            handle.createUpdate("INSERT INTO memory_storage_meter (tenant_id, metered_until) VALUES (:tenant, :at) ON CONFLICT DO NOTHING")
                    .bind("tenant", tenant.value()).bind("at", Timestamp.from(at)).execute();
        }
    }

    /** Up to {@code limit} live memories whose TTL ended at or before {@code now}, soonest expired first (the head must be locked). */
    public List<Expired> expired(Handle handle, Instant now, int limit) {
        return handle.createQuery("""
                SELECT id, tenant_id, scope_kind, scope_id, expires_at FROM memories
                 WHERE deleted_at IS NULL AND expires_at <= :now ORDER BY expires_at, id LIMIT :limit""")
                .bind("now", Timestamp.from(now)).bind("limit", limit)
                .map((rs, ctx) -> new Expired(rs.getObject("id", UUID.class), new TenantId(rs.getObject("tenant_id", UUID.class)), scope(rs),
                        rs.getTimestamp("expires_at").toInstant()))
                .list();
    }

    /** The last seq of the change sequence. */
    public long head() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT seq FROM memory_change_head WHERE id = 1").mapTo(Long.class).one());
    }

    /** Up to {@code limit} changes after {@code seq}, in order, across tenants (the index feed). */
    public List<Change> changesAfter(long seq, int limit) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT seq, memory_id FROM memory_changes WHERE seq > :seq ORDER BY seq LIMIT :limit")
                .bind("seq", seq).bind("limit", limit).map((rs, ctx) -> new Change(rs.getLong("seq"), rs.getObject("memory_id", UUID.class)))
                .list());
    }

    /** The current state of the given memories that are live; absent ids are deleted (the index feed). */
    public List<IndexedMemory> indexState(Collection<UUID> memoryIds) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT m.id, m.tenant_id, m.scope_kind, m.scope_id, m.tags, m.expires_at, r.id AS revision_id, r.content_sha256,
                       r.text, r.embedding, r.embedding_model, coalesce(r.observed_at, r.created_at) AS fact_time
                  FROM memories m JOIN memory_revisions r ON r.id = m.current_revision_id
                 WHERE m.id = ANY(:ids) AND m.deleted_at IS NULL""")
                .bind("ids", memoryIds.toArray(UUID[]::new))
                .map((rs, ctx) -> new IndexedMemory(rs.getObject("id", UUID.class), new TenantId(rs.getObject("tenant_id", UUID.class)),
                        scope(rs), tags(rs, "tags"), rs.getObject("revision_id", UUID.class), rs.getString("content_sha256"),
                        rs.getString("text"), Vectors.fromBytes(rs.getBytes("embedding")), rs.getString("embedding_model"),
                        rs.getTimestamp("fact_time").toInstant(),
                        Optional.ofNullable(rs.getTimestamp("expires_at")).map(Timestamp::toInstant)))
                .list());
    }

    static Candidate candidate(ResultSet rs) throws SQLException {
        byte[] embedding = rs.getBytes("embedding");
        return new Candidate(rs.getObject("id", UUID.class), scope(rs), rs.getObject("revision_id", UUID.class),
                rs.getString("content_sha256"), embedding == null ? null : Vectors.fromBytes(embedding), rs.getString("embedding_model"),
                rs.getTimestamp("deleted_at") != null);
    }

    static Scope scope(ResultSet rs) throws SQLException {
        return new Scope(ScopeKind.parse(rs.getString("scope_kind")), rs.getString("scope_id"));
    }

    static List<String> tags(ResultSet rs, String column) throws SQLException {
        return Arrays.asList((String[]) rs.getArray(column).getArray());
    }

    /** A memory past its TTL, as the purge erases it. */
    public record Expired(UUID memoryId, TenantId tenantId, Scope scope, Instant expiresAt) {
    }

    /** A tenant's stored memory count and text bytes. */
    public record Usage(long memories, long bytes) {
    }
}
