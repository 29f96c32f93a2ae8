package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static io.somastack.memory.TestMemory.fact;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;

class IndexRebuildTest {
    private static final List<String> QUERIES = List.of("who likes the mountains?", "database migration plan", "coffee", "travel to Japan",
            "what did the customer complain about?");

    @Test
    void deletingTheIndexAndRestartingRebuildsTheSameRecalls() {
        try (TestMemory soma = TestMemory.start()) {
            Caller caller = caller(TestMemory.tenant());
            Scope scope = Scope.of("agent", "helper");
            List<NewMemory> facts = new ArrayList<>();
            String[] subjects = {"Mia likes hiking in the mountains", "The database migration is planned for May",
                    "Coffee in the kitchen is free", "Leo is travelling to Japan in April", "The customer complained about slow invoices",
                    "Mountains near the office are good for skiing", "The migration needs a maintenance window", "Japan's office opens in June",
                    "Invoices are sent on the first of the month", "Tea is in the left cupboard"};
            for (int i = 0; i < 40; i++) {
                facts.add(fact(subjects[i % subjects.length] + ", note " + i + (i % 3 == 0 ? " (urgent)" : ""), scope));
            }
            // Several writes, so the index grows in several segments, with a delete among them.
            soma.memories().remember(caller, facts.subList(0, 20), Optional.empty());
            soma.memories().remember(caller, facts.subList(20, 40), Optional.empty());
            Remembered extra = soma.remember(caller, fact("A fact that will be deleted about coffee and Japan", scope));
            soma.memories().delete(caller, extra.memoryId(), "test");

            List<List<Fact>> before = recallAll(soma, caller, scope);
            long seqBefore = soma.memory.indexedSeq();
            soma.restart(true);

            assertThat(soma.memory.indexedSeq()).isEqualTo(seqBefore);
            List<List<Fact>> after = recallAll(soma, caller, scope);
            for (int i = 0; i < before.size(); i++) {
                assertThat(after.get(i)).extracting(Fact::memoryId, Fact::revisionId)
                        .containsExactlyElementsOf(before.get(i).stream()
                                .map(fact -> Tuple.tuple(fact.memoryId(), fact.revisionId())).toList());
            }
            assertThat(after.stream().flatMap(List::stream)).extracting(Fact::memoryId).doesNotContain(extra.memoryId());
        }
    }

    private static List<List<Fact>> recallAll(TestMemory soma, Caller caller, Scope scope) {
        List<List<Fact>> results = new ArrayList<>();
        for (RecallMode mode : RecallMode.values()) {
            for (String query : QUERIES) {
                results.add(soma.recall(caller, query, mode, scope));
            }
        }
        return results;
    }
}
