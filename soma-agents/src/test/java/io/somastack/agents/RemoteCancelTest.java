package io.somastack.agents;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.models.FixtureReply;
import io.somastack.store.Notifications;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Two servers on one database: a run streaming on node A is cancelled by a request to node B,
 * which stores the request and notifies A; A stops the model stream, bills what was generated
 * and ends the run {@code run.cancelled}.
 */
class RemoteCancelTest {
    private static TestAgents nodeA;
    private static TestAgents nodeB;
    private static TestAgents.Client acme;

    /** An event as node A's SSE client received it, and when. */
    private record Received(String event, JsonNode data, long atNanos) {
    }

    @BeforeAll
    static void start() {
        nodeA = new TestAgents(AgentsConfig.defaults());
        nodeB = nodeA.otherNode(AgentsConfig.defaults());
        acme = nodeA.tenant("acme");
        nodeA.publishAndInstall(acme, "acme-talker", TestAgents.agentBundle("acme", "acme-talker", "1.0.0", TestAgents.MODEL, false, List.of(),
                "0.50", ""));
        awaitLive(nodeA.database.notifications());
    }

    @AfterAll
    static void stop() {
        if (nodeB != null) {
            nodeB.close();
        }
        nodeA.close();
    }

    @Test
    void aRunOnNodeAIsCancelledThroughNodeBWithinASecondAndBilledWhatItUsed() throws Exception {
        Cancel cancel = cancelASlowRunThroughNodeB();
        String runId = cancel.runId();
        JsonNode answer = cancel.answer();
        Received terminal = cancel.terminal();

        assertThat(terminal.event()).isEqualTo("run.cancelled");
        assertThat(cancel.took()).isLessThan(Duration.ofSeconds(1));
        assertThat(terminal.data().get("by").asString()).isEqualTo("client");
        assertThat(nodeA.openAi.awaitClientDisconnect(Duration.ofSeconds(5))).isTrue();
        assertThat(answer.get("status").asString()).isEqualTo("cancelled");
        assertThat(answer.get("usage").get("output_tokens").asLong()).isBetween(3L, 399L);
        Money ledger = nodeA.sum("SELECT sum(cost) FROM usage_ledger WHERE request_id = '%s'".formatted(runId));
        assertThat(Money.of(answer.get("cost").asString())).isEqualTo(ledger).isEqualTo(Money.of(terminal.data().get("cost").asString()));
        assertThat(nodeA.count("SELECT count(*) FROM agent_runs WHERE id = '%s' AND cancel_requested_by = 'client'".formatted(runId)))
                .isEqualTo(1);
    }

    @Test
    void aMissedNotificationIsCaughtByTheLiveNodesPeriodicCheck() throws Exception {
        // No NOTIFY this time, as if node A's listening connection had been down: the stored request alone must stop the run.
        nodeA.database.jdbi().useHandle(handle -> handle.execute("ALTER TABLE agent_runs DISABLE TRIGGER agent_runs_notify_cancel"));
        try {
            Cancel cancel = cancelASlowRunThroughNodeB();

            assertThat(cancel.terminal().event()).isEqualTo("run.cancelled");
            assertThat(cancel.took()).isLessThan(Agents.CANCEL_CHECK.plusMillis(1000));
            assertThat(cancel.answer().get("status").asString()).isEqualTo("cancelled");
            assertThat(Money.of(cancel.answer().get("cost").asString()))
                    .isEqualTo(nodeA.sum("SELECT sum(cost) FROM usage_ledger WHERE request_id = '%s'".formatted(cancel.runId())));
        } finally {
            nodeA.database.jdbi().useHandle(handle -> handle.execute("ALTER TABLE agent_runs ENABLE TRIGGER agent_runs_notify_cancel"));
        }
    }

    @Test
    void cancellingAnEndedRunThroughTheOtherNodeAnswersItOrConflicts() {
        nodeA.openAi.enqueue(new FixtureReply.Text("Done.", 5, 1));
        String runId = nodeA.run(acme.apiKey(), "acme-talker", "{\"input\": \"hi\"}").json().get("id").asString();

        var answer = nodeB.gateway.send("POST", "/v1/runs/%s/cancel".formatted(runId), acme.apiKey(), null);

        assertThat(answer.status()).isEqualTo(409);
        assertThat(nodeA.count("SELECT count(*) FROM agent_runs WHERE id = '%s' AND cancel_requested_at IS NULL".formatted(runId))).isEqualTo(1);
    }

    /** A cancel through node B of a run streaming on node A: B's answer, A's terminal event and the time from request to that event. */
    private record Cancel(String runId, JsonNode answer, Received terminal, Duration took) {
    }

    private static Cancel cancelASlowRunThroughNodeB() throws InterruptedException {
        LinkedBlockingQueue<Received> received = startSlowRun();
        String runId = awaitDeltas(received);
        long cancelled = System.nanoTime();
        JsonNode answer = nodeB.gateway.send("POST", "/v1/runs/%s/cancel".formatted(runId), acme.apiKey(), null).json();
        Received terminal = awaitTerminal(received);
        return new Cancel(runId, answer, terminal, Duration.ofNanos(terminal.atNanos() - cancelled));
    }

    /** Starts a long streamed answer on node A; its SSE events arrive in the queue. */
    private static LinkedBlockingQueue<Received> startSlowRun() {
        nodeA.openAi.enqueue(new FixtureReply.SlowText(400, Duration.ofMillis(25)));
        HttpRequest start = nodeA.request("/v1/agents/acme-talker/runs", acme.apiKey()).header("Accept", "text/event-stream")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"Tell me a long story\"}")).build();
        LinkedBlockingQueue<Received> received = new LinkedBlockingQueue<>();
        Thread.ofVirtual().start(() -> {
            try {
                HttpResponse<Stream<String>> response = nodeA.http().send(start, HttpResponse.BodyHandlers.ofLines());
                String event = null;
                try (Stream<String> lines = response.body()) {
                    for (var iterator = lines.iterator(); iterator.hasNext(); ) {
                        String line = iterator.next();
                        if (line.startsWith("event: ")) {
                            event = line.substring(7);
                        } else if (line.startsWith("data: ")) {
                            received.add(new Received(event, Json.mapper().readTree(line.substring(6)), System.nanoTime()));
                        }
                    }
                }
            } catch (IOException | InterruptedException e) {
                received.add(new Received("client.error", Json.mapper().createObjectNode().put("message", String.valueOf(e)), System.nanoTime()));
            }
        });
        return received;
    }

    /** Waits for three {@code model.delta} events; returns the run id. */
    private static String awaitDeltas(LinkedBlockingQueue<Received> received) throws InterruptedException {
        String runId = null;
        int deltas = 0;
        while (deltas < 3) {
            Received event = received.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("an event").isNotNull();
            assertThat(event.event()).isNotEqualTo("client.error");
            if (event.event().equals("run.started")) {
                runId = event.data().get("run_id").asString();
            } else if (event.event().equals("model.delta")) {
                deltas++;
            }
        }
        return runId;
    }

    private static Received awaitTerminal(LinkedBlockingQueue<Received> received) throws InterruptedException {
        while (true) {
            Received event = received.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("an event").isNotNull();
            if (event.event().startsWith("run.") || event.event().equals("client.error")) {
                return event;
            }
        }
    }

    private static void awaitLive(Notifications notifications) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!notifications.isLive() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(10_000_000);
        }
        assertThat(notifications.isLive()).as("node A listens for cancel requests").isTrue();
    }
}
