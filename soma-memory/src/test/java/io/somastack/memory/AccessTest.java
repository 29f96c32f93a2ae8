package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static io.somastack.memory.TestMemory.fact;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The access matrix: tenant × scope × key restriction, for remember, recall, read and delete. */
class AccessTest {
    private static final String SECRET = "the vault code is 7413";
    private static final List<Scope> SCOPES = List.of(Scope.tenant(), Scope.of("agent", "alpha"), Scope.of("agent", "beta"),
            Scope.of("user", "u1"), Scope.of("conversation", "c1"));

    private static TestMemory soma;
    private static TenantId home;
    private static Map<Scope, Remembered> stored;

    @BeforeAll
    static void start() {
        soma = TestMemory.start();
        home = TestMemory.tenant();
        Caller admin = caller(home);
        List<Remembered> results = soma.memories().remember(admin, SCOPES.stream().map(scope -> fact(SECRET, scope)).toList(),
                Optional.empty()).results();
        stored = new HashMap<>();
        for (int i = 0; i < SCOPES.size(); i++) {
            stored.put(SCOPES.get(i), results.get(i));
        }
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    @Test
    void anUnrestrictedKeyReadsEveryScopeOfItsTenant() {
        Caller admin = caller(home);
        for (Scope scope : SCOPES) {
            assertThat(soma.recall(admin, "vault code", RecallMode.HYBRID, scope)).extracting(Fact::memoryId)
                    .containsExactly(stored.get(scope).memoryId());
            assertThat(soma.memories().memory(admin, stored.get(scope).memoryId()).scope()).isEqualTo(scope);
        }
    }

    @Test
    void nothingCrossesTenants() {
        Caller stranger = caller(TestMemory.tenant());
        for (Scope scope : SCOPES) {
            assertThat(soma.recall(stranger, "vault code", RecallMode.HYBRID, scope)).isEmpty();
            assertThatThrownBy(() -> soma.memories().memory(stranger, stored.get(scope).memoryId()))
                    .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
            assertThatThrownBy(() -> soma.memories().delete(stranger, stored.get(scope).memoryId(), "test"))
                    .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        }
        Caller owner = caller(home);
        Recall recall = soma.memories().recall(owner, RecallQuery.of("vault", SCOPES, 10, RecallMode.KEYWORD));
        assertThat(recall.facts()).hasSize(SCOPES.size());
        assertThatThrownBy(() -> soma.memories().recallRecord(stranger, recall.id())).isInstanceOf(SomaException.class);
    }

    @Test
    void anAgentKeyReadsSharedScopesAndItsOwnAgentButNotAnotherAgent() {
        Caller alpha = caller(home, "alpha");
        for (Scope scope : SCOPES) {
            boolean readable = !scope.equals(Scope.of("agent", "beta"));
            if (readable) {
                assertThat(soma.recall(alpha, "vault code", RecallMode.VECTOR, scope)).as(scope.key()).hasSize(1);
                assertThat(soma.memories().memory(alpha, stored.get(scope).memoryId()).scope()).isEqualTo(scope);
            } else {
                assertThatThrownBy(() -> soma.recall(alpha, "vault code", RecallMode.VECTOR, scope))
                        .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INSUFFICIENT_SCOPE));
                assertThatThrownBy(() -> soma.memories().memory(alpha, stored.get(scope).memoryId()))
                        .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
            }
        }
    }

    @Test
    void anAgentKeyWritesItsAgentUserAndConversationScopesButNotTheTenantScopeOrAnotherAgent() {
        Caller alpha = caller(TestMemory.tenant(), "alpha");
        for (Scope scope : SCOPES) {
            boolean writable = scope.kind() != ScopeKind.TENANT && !scope.equals(Scope.of("agent", "beta"));
            NewMemory note = fact("alpha was here in " + scope.key(), scope);
            if (writable) {
                assertThat(soma.remember(alpha, note).outcome()).as(scope.key()).isEqualTo(Remembered.Outcome.CREATED);
            } else {
                assertThatThrownBy(() -> soma.remember(alpha, note)).as(scope.key())
                        .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INSUFFICIENT_SCOPE));
            }
        }
        assertThatThrownBy(() -> soma.memories().delete(caller(home, "alpha"), stored.get(Scope.tenant()).memoryId(), "test"))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INSUFFICIENT_SCOPE));
        assertThatThrownBy(() -> soma.memories().forget(alpha, Scope.of("agent", "beta"), "test"))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INSUFFICIENT_SCOPE));
    }

    @Test
    void aRestrictedKeySeesOnlyItsOwnRecallRecords() {
        Caller alpha = caller(home, "alpha");
        Recall recall = soma.memories().recall(alpha, RecallQuery.of("vault", List.of(Scope.of("user", "u1")), 3, RecallMode.KEYWORD));
        assertThat(soma.memories().recallRecord(alpha, recall.id()).results()).hasSize(1);
        assertThat(soma.memories().recallRecord(caller(home), recall.id()).id()).isEqualTo(recall.id());
        assertThatThrownBy(() -> soma.memories().recallRecord(caller(home, "alpha"), recall.id())).isInstanceOf(SomaException.class);
    }
}
