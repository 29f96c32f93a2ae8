package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static io.somastack.memory.TestMemory.fact;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Delete and forget remove the text from recall, from PostgreSQL's rows and from the index files. */
class ForgetTest {
    private static TestMemory soma;

    @BeforeAll
    static void start() {
        soma = TestMemory.start();
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    @Test
    void deleteRemovesTheTextFromRecallTheStoreAndTheIndexFilesAndKeepsATombstone() {
        Caller caller = caller(TestMemory.tenant());
        Scope scope = Scope.of("user", "frank");
        String marker = "qzxwvumarkerone";
        Remembered secret = soma.remember(caller, fact("Frank's locker password is " + marker, scope));
        soma.remember(caller, fact("Frank's lunch is at noon", scope));
        soma.restart(false);
        assertThat(soma.indexContains(marker)).as("the marker is in the index before the delete").isTrue();

        StoredMemory tombstone = soma.memories().delete(caller, secret.memoryId(), "user asked");

        assertThat(tombstone.deletedAt()).isPresent();
        assertThat(tombstone.revisions()).allSatisfy(revision -> {
            assertThat(revision.text()).isEmpty();
            assertThat(revision.contentSha256()).isEmpty();
            assertThat(revision.erasedAt()).isPresent();
        });
        assertThat(soma.recall(caller, "locker password " + marker, RecallMode.HYBRID, scope)).extracting(Fact::memoryId)
                .doesNotContain(secret.memoryId());
        assertThat(soma.count("SELECT count(*) FROM memory_revisions WHERE text LIKE '%" + marker + "%' OR embedding IS NOT NULL AND memory_id = '"
                + secret.memoryId() + "'")).isZero();
        assertThat(soma.indexContains(marker)).as("the marker is gone from the index files").isFalse();
        assertThat(soma.count("SELECT count(*) FROM audit_log WHERE action = 'memory.delete' AND subject = '" + secret.memoryId()
                + "' AND actor = '" + caller.actor() + "' AND detail LIKE '%user asked%'")).isEqualTo(1);
        assertThat(soma.count("SELECT count(*) FROM outbox WHERE type = 'io.somastack.memory.deleted' AND subject = '" + secret.memoryId() + "'"))
                .isEqualTo(1);
    }

    @Test
    void aReaderNeverSeesATombstoneThatStillHoldsText() throws Exception {
        Caller caller = caller(TestMemory.tenant());
        Scope scope = Scope.of("user", "iris");
        List<Remembered> memories = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            memories.add(soma.remember(caller, fact("Iris keeps note number %d of her travel plans".formatted(i), scope)));
        }
        List<String> seen = new CopyOnWriteArrayList<>();
        AtomicInteger tombstonesRead = new AtomicInteger();
        for (Remembered memory : memories) {
            AtomicBoolean deleted = new AtomicBoolean();
            Thread reader = Thread.ofPlatform().start(() -> {
                // Reads the memory until a read shows it deleted; a tombstone must never show its text.
                while (!deleted.get()) {
                    StoredMemory read = soma.memories().memory(caller, memory.memoryId());
                    if (read.deletedAt().isPresent()) {
                        tombstonesRead.incrementAndGet();
                        read.revisions().stream().filter(revision -> revision.text().isPresent())
                                .forEach(revision -> seen.add(memory.memoryId() + ": " + revision.text().orElseThrow()));
                        return;
                    }
                }
            });
            Thread.sleep(2);
            soma.memories().delete(caller, memory.memoryId(), "user asked");
            deleted.set(true);
            reader.join();
        }
        assertThat(seen).as("tombstones read with their text still there").isEmpty();
        assertThat(tombstonesRead.get()).as("readers that saw the delete").isPositive();
    }

    @Test
    void forgetErasesEveryMemoryOfAScopeAndNoOther() {
        Caller caller = caller(TestMemory.tenant());
        Scope grace = Scope.of("user", "grace");
        Scope henry = Scope.of("user", "henry");
        String marker = "plokmijnmarkertwo";
        soma.memories().remember(caller, List.of(fact("Grace's address is 12 " + marker + " Street", grace),
                fact("Grace is allergic to peanuts", grace), fact("Henry is allergic to peanuts too", henry)), Optional.empty());

        int forgotten = soma.memories().forget(caller, grace, "data-subject erasure request 42");

        assertThat(forgotten).isEqualTo(2);
        assertThat(soma.recall(caller, "allergic to peanuts " + marker, RecallMode.HYBRID, grace)).isEmpty();
        assertThat(soma.recall(caller, "allergic to peanuts", RecallMode.HYBRID, henry)).hasSize(1);
        assertThat(soma.indexContains(marker)).isFalse();
        assertThat(soma.count("SELECT count(*) FROM memory_revisions WHERE text LIKE '%" + marker + "%'")).isZero();
        assertThat(soma.memories().forget(caller, grace, "again")).isZero();
    }
}
