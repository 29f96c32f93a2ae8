package io.somastack.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.TenantId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AuditLogTest {
    private Database database;
    private AuditLog auditLog;
    private GroupCommit commit;

    @BeforeEach
    void start() {
        database = TestDatabase.create();
        auditLog = new AuditLog(Clock.system());
        commit = new GroupCommit(database.jdbi(), auditLog, new Outbox(Clock.system(), new Ids(Clock.system())), 64, 2);
    }

    @AfterEach
    void stop() {
        commit.close();
        database.close();
    }

    private void appendConcurrently(int count) {
        TenantId tenant = new TenantId(UUID.randomUUID());
        List<CompletableFuture<Object>> futures = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            AuditEntry entry = new AuditEntry(Optional.of(tenant), "key:k" + i, "POST /v1/things 200", "thing-" + i, "req-" + i,
                    Map.of("n", i));
            futures.add(commit.submit(tx -> {
                tx.audit(entry);
                return null;
            }));
        }
        futures.forEach(CompletableFuture::join);
    }

    @Test
    void concurrentAppendsFormOneIntactChain() {
        appendConcurrently(300);

        AuditLog.Verification verification = auditLog.verify(database.jdbi());

        assertThat(verification.intact()).as(verification.message()).isTrue();
        assertThat(verification.checked()).isEqualTo(300);
    }

    @Test
    void entriesOfAnyTextChainExactlyAsVerifyHashesThem() {
        // PostgreSQL builds and hashes each entry's text on append; verify hashes it again in Java.
        commit.execute(tx -> {
            tx.audit(new AuditEntry(Optional.empty(), "actor\nwith a newline", "act ☃ 😀 ü", "subject\\back'slash", "req-\"quoted\"",
                    Map.of("text", "line\nbreak \"quoted\" ☃", "n", 1.5, "list", List.of(1, "two"))));
            tx.audit(new AuditEntry(Optional.of(new TenantId(UUID.randomUUID())), "", "-", " ", "\t", Map.of()));
            return null;
        });
        appendConcurrently(20);

        AuditLog.Verification verification = auditLog.verify(database.jdbi());

        assertThat(verification.intact()).as(verification.message()).isTrue();
        assertThat(verification.checked()).isEqualTo(22);
    }

    @Test
    void detectsAnEditedEntry() {
        appendConcurrently(20);
        database.jdbi().useHandle(handle -> handle.execute("UPDATE audit_log SET subject = 'forged' WHERE seq = 7"));

        AuditLog.Verification verification = auditLog.verify(database.jdbi());

        assertThat(verification.intact()).isFalse();
        assertThat(verification.firstBad()).contains(7L);
        assertThat(verification.message()).contains("entry 7 was altered");
    }

    @Test
    void detectsADeletedEntryInTheMiddleAndAtTheEnd() {
        appendConcurrently(20);
        database.jdbi().useHandle(handle -> handle.execute("DELETE FROM audit_log WHERE seq = 12"));
        assertThat(auditLog.verify(database.jdbi()).message()).contains("entry 12 is missing");

        database.jdbi().useHandle(handle -> handle.execute("DELETE FROM audit_log WHERE seq >= 12"));
        AuditLog.Verification tail = auditLog.verify(database.jdbi());
        assertThat(tail.intact()).isFalse();
        assertThat(tail.message()).contains("entries were deleted");
    }

    @Test
    void verifyingWhileEntriesAreAppendedSeesOneConsistentSnapshot() {
        appendConcurrently(50);
        CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> appendConcurrently(1_000));
        int verifications = 0;
        while (!writing.isDone() || verifications == 0) {
            AuditLog.Verification verification = auditLog.verify(database.jdbi());
            assertThat(verification.intact()).as(verification.message()).isTrue();
            verifications++;
        }
        writing.join();
    }

    @Test
    void aFailingUnitFailsOnlyItsOwnCaller() {
        CompletableFuture<Integer> good = commit.submit(tx -> tx.handle().createQuery("SELECT 1").mapTo(Integer.class).one());
        CompletableFuture<Integer> bad = commit.submit(tx -> tx.handle().createQuery("SELECT * FROM no_such_table").mapTo(Integer.class).one());

        assertThat(good.join()).isEqualTo(1);
        assertThatThrownBy(bad::join).hasMessageContaining("no_such_table");
    }
}
