package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.memory.Caller;
import io.somastack.memory.Memories;
import io.somastack.memory.NewMemory;
import io.somastack.memory.Recall;
import io.somastack.memory.RecallQuery;
import io.somastack.memory.RecallRecord;
import io.somastack.memory.Scope;
import io.somastack.memory.StoredMemory;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** {@link Memories} over PostgreSQL and the derived Lucene index; each operation is its own class. Thread-safe. */
public final class IndexedMemories implements Memories {
    private final Remembering remembering;
    private final Recalling recalling;
    private final Forgetting forgetting;
    private final MemoryReads reads;
    private final RecallLog recallLog;

    public IndexedMemories(Remembering remembering, Recalling recalling, Forgetting forgetting, MemoryReads reads, RecallLog recallLog) {
        this.remembering = requireNonNull(remembering, "remembering is null");
        this.recalling = requireNonNull(recalling, "recalling is null");
        this.forgetting = requireNonNull(forgetting, "forgetting is null");
        this.reads = requireNonNull(reads, "reads is null");
        this.recallLog = requireNonNull(recallLog, "recallLog is null");
    }

    @Override
    public RememberResult remember(Caller caller, List<NewMemory> memories, Optional<IdempotencyKey> idempotencyKey) {
        return remembering.remember(caller, memories, idempotencyKey);
    }

    @Override
    public Recall recall(Caller caller, RecallQuery query) {
        return recalling.recall(caller, query);
    }

    /** A restricted key sees only its own recalls; an unrestricted key sees every recall of its tenant. */
    @Override
    public RecallRecord recallRecord(Caller caller, UUID recallId) {
        return recallLog.find(caller.tenantId(), recallId)
                .filter(record -> !caller.isRestricted() || record.keyId().equals(caller.keyId()))
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "Recall %s does not exist".formatted(recallId)));
    }

    /** A memory in a scope the caller may not read answers as absent, so its existence does not leak. */
    @Override
    public StoredMemory memory(Caller caller, UUID memoryId) {
        return reads.find(caller.tenantId(), memoryId).filter(memory -> caller.mayRead(memory.scope()))
                .orElseThrow(() -> Forgetting.notFound(memoryId));
    }

    @Override
    public StoredMemory delete(Caller caller, UUID memoryId, String reason) {
        return forgetting.delete(caller, memoryId, Texts.requireStorable("reason", reason));
    }

    @Override
    public int forget(Caller caller, Scope scope, String reason) {
        return forgetting.forget(caller, scope, Texts.requireStorable("reason", reason));
    }
}
