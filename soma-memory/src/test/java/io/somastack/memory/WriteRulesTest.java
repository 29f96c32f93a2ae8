package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static io.somastack.memory.TestMemory.fact;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Idempotency, concurrent near-duplicates, the quota, and bad input: nothing partially stored. */
class WriteRulesTest {
    private static TestMemory soma;

    @BeforeAll
    static void start() {
        soma = TestMemory.start(MemoryConfig.defaults(Path.of("target")).withQuota(20, 4000));
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    private static long memoriesOf(TenantId tenant) {
        return soma.count("SELECT count(*) FROM memories WHERE tenant_id = '" + tenant + "'");
    }

    @Test
    void aRetryWithTheSameIdempotencyKeyReturnsTheFirstResultAndStoresOnce() {
        Caller caller = caller(TestMemory.tenant());
        var key = Optional.of(new Memories.IdempotencyKey("order-1", "hash-a"));
        List<NewMemory> batch = List.of(fact("Carol lives in Oslo", Scope.of("user", "carol")));

        Memories.RememberResult first = soma.memories().remember(caller, batch, key);
        Memories.RememberResult retry = soma.memories().remember(caller, batch, key);

        assertThat(first.replayed()).isFalse();
        assertThat(retry.replayed()).isTrue();
        assertThat(retry.results()).isEqualTo(first.results());
        assertThat(memoriesOf(caller.tenantId())).isEqualTo(1);
        assertThat(soma.count("SELECT count(*) FROM memory_revisions WHERE tenant_id = '" + caller.tenantId() + "'")).isEqualTo(1);
        assertThatThrownBy(() -> soma.memories().remember(caller, batch, Optional.of(new Memories.IdempotencyKey("order-1", "hash-b"))))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.IDEMPOTENCY_KEY_REUSED));
    }

    @Test
    void concurrentNearDuplicateRemembersEndAsOneMemoryWithRevisions() throws Exception {
        Caller caller = caller(TestMemory.tenant());
        Scope scope = Scope.of("agent", "planner");
        // Pairwise cosine of these under MiniLM is at least 0.97.
        List<String> variants = List.of("The quarterly report is due on March 31.", "The quarterly report is due on March 31",
                "the quarterly report is due on March 31.", "The quarterly report is due on March 31 .",
                "The Quarterly Report is due on March 31.", "THE QUARTERLY REPORT IS DUE ON MARCH 31.");
        List<CompletableFuture<Remembered>> futures = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String variant : variants) {
                futures.add(CompletableFuture.supplyAsync(() -> soma.remember(caller, fact(variant, scope)), threads));
            }
        }
        List<Remembered> results = futures.stream().map(CompletableFuture::join).toList();

        assertThat(results).extracting(Remembered::memoryId).containsOnly(results.getFirst().memoryId());
        assertThat(results).filteredOn(result -> result.outcome() == Remembered.Outcome.CREATED).hasSize(1);
        assertThat(memoriesOf(caller.tenantId())).isEqualTo(1);
        StoredMemory memory = soma.memories().memory(caller, results.getFirst().memoryId());
        assertThat(memory.revisions()).hasSizeGreaterThanOrEqualTo(2);
        assertThat(soma.recall(caller, "quarterly report", RecallMode.HYBRID, scope)).hasSize(1);
    }

    @Test
    void aRememberOverTheQuotaAnswersAProblemAndStoresNothing() {
        Caller caller = caller(TestMemory.tenant());
        Scope scope = Scope.of("user", "dan");
        List<NewMemory> first = new ArrayList<>();
        for (int i = 0; i < 18; i++) {
            first.add(fact("Dan's note number %d is about topic %s".formatted(i, List.of("golf", "tax", "cars", "bees", "jazz", "chess").get(i % 6)
                    + " " + "xyz".repeat(i)), scope));
        }
        soma.memories().remember(caller, first, Optional.empty());
        long before = memoriesOf(caller.tenantId());

        List<NewMemory> tooMany = List.of(fact("Dan owns a red bicycle", scope), fact("Dan's sister is called Eve", scope),
                fact("Dan speaks Portuguese fluently", scope));
        assertThatThrownBy(() -> soma.memories().remember(caller, tooMany, Optional.empty()))
                .isInstanceOfSatisfying(SomaException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.MEMORY_QUOTA_EXCEEDED);
                    assertThat(e.extensions()).containsEntry("quota", "memories").containsEntry("limit", 20L);
                });
        assertThat(memoriesOf(caller.tenantId())).isEqualTo(before);
        assertThat(soma.recall(caller, "bicycle", RecallMode.KEYWORD, scope)).isEmpty();

        Caller other = caller(TestMemory.tenant());
        assertThatThrownBy(() -> soma.remember(other, fact("x".repeat(4001 - 1) + "yz", Scope.of("user", "big"))))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.extensions()).containsEntry("quota", "bytes"));
    }

    @Test
    void aBatchWithBadEntriesIsRefusedWholeWithTheIndexOfEachBadEntry() {
        Caller caller = caller(TestMemory.tenant(), "alpha");
        Scope own = Scope.of("agent", "alpha");
        List<NewMemory> batch = List.of(fact("a fine fact", own), fact("   ", own), fact("y".repeat(8193), own),
                new NewMemory("a fact with a bad tag", own, List.of("no spaces allowed"), Provenance.of(SourceKind.TOOL), Optional.empty()),
                new NewMemory("a fact with a negative ttl", own, List.of(), Provenance.of(SourceKind.TOOL), Optional.of(Duration.ofSeconds(-5))));

        assertThatThrownBy(() -> soma.memories().remember(caller, batch, Optional.empty()))
                .isInstanceOfSatisfying(SomaException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    @SuppressWarnings("unchecked")
                    List<Map<String, Object>> errors = (List<Map<String, Object>>) e.extensions().get("errors");
                    assertThat(errors).extracting(error -> error.get("index")).containsExactly(1, 2, 3, 4);
                });
        assertThatThrownBy(() -> soma.memories().remember(caller, List.of(fact("fine", own), fact("not mine", Scope.of("agent", "beta"))),
                Optional.empty())).isInstanceOfSatisfying(SomaException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INSUFFICIENT_SCOPE);
                    assertThat(e.extensions().get("errors").toString()).contains("index=1");
                });
        assertThatThrownBy(() -> soma.memories().remember(caller, List.of(), Optional.empty())).isInstanceOf(SomaException.class);
        assertThat(memoriesOf(caller.tenantId())).isZero();
    }

    @Test
    void badRecallsAreRefused() {
        Caller caller = caller(TestMemory.tenant());
        List<Scope> scopes = List.of(Scope.tenant());
        assertThatThrownBy(() -> RecallQuery.of("q", scopes, 0, RecallMode.HYBRID)).isInstanceOf(SomaException.class);
        assertThatThrownBy(() -> RecallQuery.of("q", scopes, 101, RecallMode.HYBRID)).isInstanceOf(SomaException.class);
        assertThatThrownBy(() -> RecallQuery.of(" ", scopes, 5, RecallMode.HYBRID)).isInstanceOf(SomaException.class);
        assertThatThrownBy(() -> RecallQuery.of("q", List.of(), 5, RecallMode.HYBRID)).isInstanceOf(SomaException.class);
        assertThatThrownBy(() -> Scope.of("planet", "mars")).hasMessageContaining("Unknown scope kind 'planet'");
        assertThatThrownBy(() -> Scope.of("agent", "")).isInstanceOf(SomaException.class);
        assertThat(soma.recall(caller, "!!!", RecallMode.KEYWORD, Scope.tenant())).isEmpty();
    }
}
