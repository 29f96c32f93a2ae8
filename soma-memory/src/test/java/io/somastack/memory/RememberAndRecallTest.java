package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static io.somastack.memory.TestMemory.fact;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.TenantId;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RememberAndRecallTest {
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
    void recallsAFactRightAfterRememberingItInEveryMode() {
        Caller caller = caller(TestMemory.tenant());
        Scope ada = Scope.of("user", "ada");
        soma.remember(caller, fact("Ada prefers green tea in the morning", ada));
        Remembered rome = soma.remember(caller, fact("Ada's flight to Rome leaves on Friday at 9", ada));

        for (RecallMode mode : RecallMode.values()) {
            List<Fact> facts = soma.recall(caller, "When does Ada fly to Rome?", mode, ada);
            assertThat(facts).as(mode.name()).isNotEmpty();
            assertThat(facts.getFirst().memoryId()).as(mode.name()).isEqualTo(rome.memoryId());
            assertThat(facts.getFirst().revisionId()).isEqualTo(rome.revisionId());
            assertThat(facts.getFirst().provenance().reference()).contains("turn-1");
        }
    }

    @Test
    void aNearDuplicateInTheSameScopeBecomesARevision() {
        Caller caller = caller(TestMemory.tenant());
        Scope bob = Scope.of("user", "bob");
        Remembered first = soma.remember(caller, fact("Bob's favourite colour is blue.", bob));
        Remembered again = soma.remember(caller, fact("Bob's favourite colour is blue!", bob));
        Remembered same = soma.remember(caller, fact("Bob's favourite colour is blue!", bob));
        Remembered elsewhere = soma.remember(caller, fact("Bob's favourite colour is blue!", Scope.of("user", "bobby")));

        assertThat(again.outcome()).isEqualTo(Remembered.Outcome.REVISED);
        assertThat(again.memoryId()).isEqualTo(first.memoryId());
        assertThat(same.outcome()).isEqualTo(Remembered.Outcome.UNCHANGED);
        assertThat(same.revisionId()).isEqualTo(again.revisionId());
        assertThat(elsewhere.outcome()).isEqualTo(Remembered.Outcome.CREATED);
        StoredMemory stored = soma.memories().memory(caller, first.memoryId());
        assertThat(stored.revisions()).extracting(revision -> revision.text().orElseThrow())
                .containsExactly("Bob's favourite colour is blue.", "Bob's favourite colour is blue!");
        assertThat(stored.currentRevisionId()).contains(again.revisionId());
        assertThat(soma.recall(caller, "colour", RecallMode.KEYWORD, bob)).extracting(Fact::revisionId).containsExactly(again.revisionId());
    }

    @Test
    void nearDuplicatesInOneBatchReviseTheMemoryTheBatchCreated() {
        Caller caller = caller(TestMemory.tenant());
        Scope carol = Scope.of("user", "carol");
        List<Remembered> results = soma.memories().remember(caller, List.of(
                fact("Carol's favourite colour is green.", carol, "office"),
                fact("Carol's favourite colour is green!", carol, "desk"),
                fact("Carol's favourite colour is green!!", carol, "building", "desk"),
                fact("Carol's favourite colour is green!!", carol)), Optional.empty()).results();

        assertThat(results).extracting(Remembered::outcome).containsExactly(Remembered.Outcome.CREATED, Remembered.Outcome.REVISED,
                Remembered.Outcome.REVISED, Remembered.Outcome.UNCHANGED);
        assertThat(results).extracting(Remembered::memoryId).containsOnly(results.getFirst().memoryId());
        StoredMemory stored = soma.memories().memory(caller, results.getFirst().memoryId());
        assertThat(stored.revisions()).extracting(StoredMemory.Revision::number).containsExactly(1, 2, 3);
        assertThat(stored.currentRevisionId()).contains(results.get(2).revisionId());
        assertThat(results.get(3).revisionId()).isEqualTo(results.get(2).revisionId());
        assertThat(stored.tags()).containsExactly("building", "desk", "office");
        assertThat(soma.recall(caller, "colour", RecallMode.KEYWORD, carol)).extracting(Fact::revisionId)
                .containsExactly(results.get(2).revisionId());
    }

    @Test
    void filtersByTagsTimeAndExpiry() {
        Caller caller = caller(TestMemory.tenant());
        Scope team = Scope.tenant();
        NewMemory old = new NewMemory("The office moved to Lyon", team, List.of("office"),
                new Provenance(SourceKind.DOCUMENT, Optional.of("https://wiki/office"), Optional.empty(),
                        Optional.of(Instant.parse("2020-01-01T00:00:00Z"))), Optional.empty());
        NewMemory recent = fact("The office coffee machine is broken", team, "office", "facilities");
        NewMemory fleeting = new NewMemory("The office is closed today for cleaning", team, List.of("office"),
                Provenance.of(SourceKind.AGENT), Optional.of(Duration.ofMillis(1)));
        soma.memories().remember(caller, List.of(old, recent, fleeting), Optional.empty());

        RecallQuery tagged = new RecallQuery("office", List.of(team), 10, List.of("facilities"), Optional.empty(), Optional.empty(),
                RecallMode.KEYWORD);
        assertThat(soma.memories().recall(caller, tagged).facts()).extracting(Fact::text).containsExactly("The office coffee machine is broken");
        RecallQuery before2021 = new RecallQuery("office", List.of(team), 10, List.of(), Optional.empty(),
                Optional.of(Instant.parse("2021-01-01T00:00:00Z")), RecallMode.HYBRID);
        assertThat(soma.memories().recall(caller, before2021).facts()).extracting(Fact::text).containsExactly("The office moved to Lyon");
        assertThat(soma.recall(caller, "office closed cleaning", RecallMode.HYBRID, team)).extracting(Fact::text)
                .doesNotContain("The office is closed today for cleaning");
    }

    @Test
    void recordsEachRecallWithExactlyTheRevisionsAndScoresReturned() {
        TenantId tenant = TestMemory.tenant();
        Caller caller = caller(tenant);
        Scope scope = Scope.of("conversation", "c-1");
        soma.memories().remember(caller, List.of(fact("The deploy runs every Tuesday", scope), fact("Deploys need two approvals", scope),
                fact("The cafeteria serves pasta on Tuesday", scope)), Optional.empty());

        Recall recall = soma.memories().recall(caller, RecallQuery.of("how do deploys work?", List.of(scope), 2, RecallMode.HYBRID));
        RecallRecord record = soma.memories().recallRecord(caller, recall.id());

        assertThat(recall.facts()).hasSize(2);
        assertThat(record.results()).extracting(RecallRecord.Hit::memoryId, RecallRecord.Hit::revisionId, RecallRecord.Hit::score)
                .containsExactlyElementsOf(recall.facts().stream()
                        .map(fact -> Tuple.tuple(fact.memoryId(), fact.revisionId(), fact.score())).toList());
        assertThat(record.actor()).isEqualTo(caller.actor());
        assertThat(record.keyId()).isEqualTo(caller.keyId());
        assertThat(record.querySha256()).hasSize(64).isNotEqualTo("how do deploys work?");
        assertThat(record.scopes()).containsExactly(scope);
        assertThat(soma.count("SELECT count(*) FROM audit_log WHERE action = 'memory.recall' AND subject = '" + recall.id() + "'")).isEqualTo(1);
    }

    @Test
    void recordsOnlyWhatIsReturnedWhenAHitWasDeletedSinceItWasIndexed() {
        TenantId tenant = TestMemory.tenant();
        Caller caller = caller(tenant);
        Scope scope = Scope.of("conversation", "c-2");
        List<Remembered> remembered = soma.memories().remember(caller, List.of(fact("The backup runs every night at two", scope),
                fact("Backups are kept for thirty days", scope)), Optional.empty()).results();
        // Deleted in PostgreSQL without a change, as another node's delete looks before this index applied it:
        // the index still finds the memory, the fetch drops it, so the record written beside the fetch is corrected.
        soma.database.jdbi().useHandle(handle -> handle.createUpdate("UPDATE memories SET deleted_at = now() WHERE id = :id")
                .bind("id", remembered.getFirst().memoryId()).execute());

        Recall recall = soma.memories().recall(caller, RecallQuery.of("when do backups run?", List.of(scope), 2, RecallMode.HYBRID));
        RecallRecord record = soma.memories().recallRecord(caller, recall.id());

        assertThat(recall.facts()).extracting(Fact::memoryId).containsExactly(remembered.get(1).memoryId());
        assertThat(record.results()).extracting(RecallRecord.Hit::memoryId, RecallRecord.Hit::revisionId, RecallRecord.Hit::score)
                .containsExactly(Tuple.tuple(recall.facts().getFirst().memoryId(), recall.facts().getFirst().revisionId(),
                        recall.facts().getFirst().score()));
    }

    @Test
    void readsFurtherHitsWhenMoreThanItsSparesWereDeletedSinceTheyWereIndexed() {
        Caller caller = caller(TestMemory.tenant());
        Scope scope = Scope.of("conversation", "c-3");
        soma.memories().remember(caller, Stream.of("The staging database is restored from backup every Monday",
                "Restores of the production database need two approvals", "The restore drill last quarter took forty minutes",
                "A database restore starts with the newest base backup", "Point-in-time recovery replays the write-ahead log",
                "Backups are encrypted before they leave the data centre", "The on-call engineer owns every restore",
                "Lunch on Fridays is pizza in the large kitchen", "The bicycle shed is behind the north entrance",
                "New laptops are ordered through the service desk", "The quarterly all-hands meeting is in the atrium",
                "Parking permits renew every January").map(text -> fact(text, scope)).toList(), Optional.empty());
        List<Fact> ranked = soma.memories().recall(caller, RecallQuery.of("how is the database restored?", List.of(scope), 20, RecallMode.VECTOR))
                .facts();
        assertThat(ranked).hasSize(12);
        // The ten best hits deleted in PostgreSQL only, as another node's deletes look before this index applied them:
        // the first read (2k + 8 = 10 hits for k = 1) finds none of them live, so the following hits are read, and the
        // record written beside the first read is corrected to what is returned.
        soma.database.jdbi().useHandle(handle -> handle.createUpdate("UPDATE memories SET deleted_at = now() WHERE id = ANY(:ids)")
                .bind("ids", ranked.subList(0, 10).stream().map(Fact::memoryId).toArray(UUID[]::new)).execute());

        Recall recall = soma.memories().recall(caller, RecallQuery.of("how is the database restored?", List.of(scope), 1, RecallMode.VECTOR));

        assertThat(recall.facts()).extracting(Fact::memoryId, Fact::revisionId, Fact::score)
                .containsExactly(Tuple.tuple(ranked.get(10).memoryId(), ranked.get(10).revisionId(), ranked.get(10).score()));
        assertThat(soma.memories().recallRecord(caller, recall.id()).results())
                .extracting(RecallRecord.Hit::memoryId, RecallRecord.Hit::revisionId, RecallRecord.Hit::score)
                .containsExactly(Tuple.tuple(ranked.get(10).memoryId(), ranked.get(10).revisionId(), ranked.get(10).score()));
    }
}
