package io.somastack.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.TenantId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OutboxRelayTest {
    private Database database;
    private GroupCommit commit;
    private OutboxRelay relay;

    @BeforeEach
    void start() {
        database = TestDatabase.create();
        commit = new GroupCommit(database.jdbi(), new AuditLog(Clock.system()), new Outbox(Clock.system(), new Ids(Clock.system())), 16, 1);
        relay = new OutboxRelay(database.dataSource(), Duration.ofMillis(20), 100);
    }

    @AfterEach
    void stop() {
        relay.close();
        commit.close();
        database.close();
    }

    private void publish(String subject) {
        commit.execute(tx -> {
            tx.publish(new OutboxEvent("io.somastack.test.happened", subject, Optional.of(new TenantId(UUID.randomUUID())), Map.of("n", subject)));
            return null;
        });
    }

    @Test
    void deliversCommittedEventsInOrderOnce() {
        List<String> seen = new ArrayList<>();
        relay.subscribe(event -> seen.add(event.subject()));
        for (int i = 0; i < 5; i++) {
            publish("event-" + i);
        }

        assertThat(relay.relayOnce()).isEqualTo(5);
        assertThat(relay.relayOnce()).isZero();

        assertThat(seen).containsExactly("event-0", "event-1", "event-2", "event-3", "event-4");
        assertThat(relay.pending()).isZero();
    }

    @Test
    void aFailingListenerLeavesTheEventsPendingForTheNextPoll() {
        publish("retry-me");
        List<String> seen = new ArrayList<>();
        relay.subscribe(event -> {
            if (seen.isEmpty()) {
                seen.add("failed once");
                throw new IllegalStateException("listener down");
            }
            seen.add(event.subject());
        });

        try {
            relay.relayOnce();
        } catch (IllegalStateException expected) {
            // the first delivery fails
        }
        assertThat(relay.pending()).isEqualTo(1);
        assertThat(relay.relayOnce()).isEqualTo(1);

        assertThat(seen).containsExactly("failed once", "retry-me");
        assertThat(relay.pending()).isZero();
    }
}
