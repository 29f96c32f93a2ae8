package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static io.somastack.memory.TestMemory.fact;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.store.Notifications;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two memory nodes on one PostgreSQL, each with its own Lucene index. Node B polls only every
 * minute, so finding node A's fact within 1 s shows the NOTIFY wake-up did it, not the poll.
 */
class TwoNodeRecallTest {
    private static final Duration BOUND = Duration.ofSeconds(1);

    private TestMemory nodeA;
    private TestMemory nodeB;

    @BeforeEach
    void startTwoNodes() {
        nodeA = TestMemory.start();
        nodeB = nodeA.otherNode(MemoryConfig.defaults(Path.of("target")).withIndexPoll(Duration.ofMinutes(1)));
        awaitLive(nodeB.database.notifications());
    }

    @AfterEach
    void stopNodes() {
        nodeB.close();
        nodeA.close();
    }

    @Test
    void aFactRememberedOnOneNodeIsRecalledOnTheOtherWithinOneSecond() {
        Caller caller = caller(TestMemory.tenant());
        Scope ada = Scope.of("user", "ada");
        assertThat(nodeB.recall(caller, "Where does Ada fly on Friday?", RecallMode.HYBRID, ada)).isEmpty();

        Remembered rome = nodeA.remember(caller, fact("Ada's flight to Rome leaves on Friday at 9", ada));
        long remembered = System.nanoTime();

        for (RecallMode mode : RecallMode.values()) {
            List<Fact> facts = recallWithin(nodeB, caller, mode, ada, remembered);
            assertThat(facts).as("%s recall on node B within 1 s", mode).extracting(Fact::memoryId).contains(rome.memoryId());
        }
    }

    /** Recalls on {@code node} until the answer is not empty or {@link #BOUND} has passed since {@code since}. */
    private static List<Fact> recallWithin(TestMemory node, Caller caller, RecallMode mode, Scope scope, long since) {
        while (true) {
            List<Fact> facts = node.recall(caller, "Where does Ada fly on Friday?", mode, scope);
            if (!facts.isEmpty() || System.nanoTime() - since > BOUND.toNanos()) {
                return facts;
            }
            Thread.onSpinWait();
        }
    }

    private static void awaitLive(Notifications notifications) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!notifications.isLive() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(notifications.isLive()).as("node B listens for changes").isTrue();
    }
}
