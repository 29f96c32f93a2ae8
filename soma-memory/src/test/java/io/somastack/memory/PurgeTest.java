package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.TenantId;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Memories past their TTL are erased on Memory's timer exactly as a delete erases them. */
class PurgeTest {
    private static NewMemory expiring(String text, Scope scope, Duration ttl) {
        return new NewMemory(text, scope, List.of(), Provenance.of(SourceKind.CONVERSATION), Optional.of(ttl));
    }

    @Test
    void theTimerErasesExpiredMemoriesLikeADeleteAndKeepsTheOthers() throws InterruptedException {
        TestClock clock = new TestClock();
        MemoryConfig config = MemoryConfig.defaults(Path.of("target")).withPurgeInterval(Duration.ofMillis(100));
        try (TestMemory soma = TestMemory.start(config, TestMemory.embedder(), clock)) {
            TenantId tenant = TestMemory.tenant();
            Caller caller = caller(tenant);
            Scope scope = Scope.of("user", "paula");
            String marker = "vbnqwemarkerthree";
            Remembered soon = soma.remember(caller, expiring("Paula's door code this week is " + marker, scope, Duration.ofHours(1)));
            Remembered later = soma.remember(caller, expiring("Paula is on holiday until the end of the month", scope, Duration.ofHours(2)));
            Remembered forever = soma.remember(caller, TestMemory.fact("Paula's desk is by the window", scope));
            long bytesBefore = soma.count("SELECT bytes FROM memory_usage WHERE tenant_id = '" + tenant.value() + "'");
            Thread.sleep(300);
            assertThat(soma.memories().memory(caller, soon.memoryId()).deletedAt()).as("not expired yet").isEmpty();

            clock.advance(Duration.ofMinutes(90));
            StoredMemory tombstone = awaitDeleted(soma, caller, soon);
            assertThat(soma.memory.purgeExpired()).as("waits for the timer's purge to finish, then finds nothing").isZero();

            assertThat(tombstone.revisions()).allSatisfy(revision -> {
                assertThat(revision.text()).isEmpty();
                assertThat(revision.contentSha256()).isEmpty();
                assertThat(revision.erasedAt()).isPresent();
            });
            assertThat(soma.count("SELECT count(*) FROM memory_revisions WHERE memory_id = '" + soon.memoryId()
                    + "' AND (text IS NOT NULL OR embedding IS NOT NULL)")).isZero();
            assertThat(soma.count("SELECT count(*) FROM memories WHERE id = '" + soon.memoryId()
                    + "' AND deleted_reason = 'expired' AND deleted_by = 'system:memory-ttl'")).isEqualTo(1);
            assertThat(soma.count("SELECT count(*) FROM audit_log WHERE action = 'memory.delete' AND subject = '" + soon.memoryId()
                    + "' AND actor = 'system:memory-ttl' AND tenant_id = '" + tenant.value() + "' AND detail LIKE '%\"reason\":\"expired\"%'"))
                    .isEqualTo(1);
            assertThat(soma.count("SELECT count(*) FROM outbox WHERE type = 'io.somastack.memory.deleted' AND subject = '" + soon.memoryId() + "'"))
                    .isEqualTo(1);
            assertThat(soma.count("SELECT bytes FROM memory_usage WHERE tenant_id = '" + tenant.value() + "'"))
                    .isEqualTo(bytesBefore - ("Paula's door code this week is " + marker).length());
            assertThat(soma.indexContains(marker)).as("erased from the index files").isFalse();
            assertThat(soma.memories().memory(caller, later.memoryId()).deletedAt()).isEmpty();
            assertThat(soma.memories().memory(caller, forever.memoryId()).deletedAt()).isEmpty();
            assertThat(soma.recall(caller, "holiday desk", RecallMode.KEYWORD, scope)).extracting(Fact::memoryId)
                    .containsExactlyInAnyOrder(later.memoryId(), forever.memoryId());
        }
    }

    @Test
    void purgesMoreMemoriesThanOneBatchAndThenNothing() {
        TestClock clock = new TestClock();
        try (TestMemory soma = TestMemory.start(MemoryConfig.defaults(Path.of("target")), TestMemory.embedder(), clock)) {
            Caller caller = caller(TestMemory.tenant());
            List<NewMemory> memories = new ArrayList<>();
            for (int i = 0; i < 600; i++) {
                memories.add(expiring("Reminder number %d for this conversation".formatted(i), Scope.of("conversation", "c-" + i), Duration.ofMinutes(5)));
            }
            soma.memories().remember(caller, memories.subList(0, 300), Optional.empty());
            soma.memories().remember(caller, memories.subList(300, 600), Optional.empty());
            soma.remember(caller, expiring("A reminder that lasts a day", Scope.of("conversation", "c-0"), Duration.ofDays(1)));

            assertThat(soma.memory.purgeExpired()).isZero();
            clock.advance(Duration.ofMinutes(6));

            assertThat(soma.memory.purgeExpired()).isEqualTo(600);
            assertThat(soma.memory.purgeExpired()).isZero();
            assertThat(soma.count("SELECT count(*) FROM memories WHERE deleted_at IS NULL")).isEqualTo(1);
            assertThat(soma.count("SELECT memories FROM memory_usage")).isEqualTo(1);
            assertThat(soma.recall(caller, "reminder", RecallMode.KEYWORD, Scope.of("conversation", "c-0"))).extracting(Fact::text)
                    .containsExactly("A reminder that lasts a day");
        }
    }

    private static StoredMemory awaitDeleted(TestMemory soma, Caller caller, Remembered remembered) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            StoredMemory memory = soma.memories().memory(caller, remembered.memoryId());
            if (memory.deletedAt().isPresent()) {
                return memory;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("memory %s was not purged within 20 s".formatted(remembered.memoryId()));
    }
}
