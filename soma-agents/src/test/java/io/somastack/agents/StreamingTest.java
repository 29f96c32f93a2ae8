package io.somastack.agents;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Money;
import io.somastack.models.FixtureReply;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import io.somastack.kernel.Json;

/** The ways an answer comes back: server-sent events (resumed after a dropped connection) and a conversation's WebSocket. */
class StreamingTest {
    private static TestAgents soma;
    private static TestAgents.Client acme;

    @BeforeAll
    static void start() {
        soma = new TestAgents(AgentsConfig.defaults());
        acme = soma.tenant("acme");
        soma.publishAndInstall(acme, "acme-talker", TestAgents.agentBundle("acme", "acme-talker", "1.0.0", TestAgents.MODEL, false, List.of(),
                "0.50", ""));
        soma.publishAndInstall(acme, "acme-spinner", TestAgents.agentBundle("acme", "acme-spinner", "1.0.0", TestAgents.MODEL, Optional.of("loop"),
                "{type: object}", List.of(), "0.50", ""));
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    @Test
    void aClientThatLostItsConnectionResumesFromLastEventIdWithNothingLost() {
        soma.openAi.enqueue(new FixtureReply.SlowText(40, Duration.ofMillis(15)));
        HttpRequest start = soma.request("/v1/agents/acme-talker/runs", acme.apiKey()).header("Accept", "text/event-stream")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"Talk to me\"}")).build();

        // The first connection drops after five events; the run goes on without it.
        List<TestAgents.Sse> first = soma.events(start, 5);
        String runId = first.getFirst().data().get("run_id").asString();
        assertThat(first).extracting(TestAgents.Sse::id).containsExactly(1, 2, 3, 4, 5);
        List<TestAgents.Sse> rest = soma.events(soma.request("/v1/runs/%s/events".formatted(runId), acme.apiKey())
                .header("Last-Event-ID", "5").GET().build(), 10_000);

        List<TestAgents.Sse> resumed = new ArrayList<>(first);
        resumed.addAll(rest);
        assertThat(resumed).extracting(TestAgents.Sse::id).containsExactlyElementsOf(IntStream.rangeClosed(1, resumed.size()).boxed().toList());
        assertThat(resumed.getLast().event()).isEqualTo("run.completed");
        List<TestAgents.Sse> replay = soma.events(soma.request("/v1/runs/%s/events".formatted(runId), acme.apiKey()).GET().build(), 10_000);
        assertThat(replay).extracting(TestAgents.Sse::id).containsExactlyElementsOf(resumed.stream().map(TestAgents.Sse::id).toList());
        assertThat(replay).extracting(event -> event.data().toString()).containsExactlyElementsOf(resumed.stream().map(event -> event.data().toString()).toList());
        assertThat(String.join("", replay.stream().filter(event -> event.event().equals("model.delta")).map(event -> event.data().get("text").asString())
                .toList())).startsWith("word0 word1 word2");
    }

    @Test
    void aTenantTheOperatorSetToCancelLosesItsRunWhenTheClientLeaves() {
        TestAgents.Client quitter = soma.tenant("quitter");
        soma.publishAndInstall(quitter, "quitter-talker", TestAgents.agentBundle("quitter", "quitter-talker", "1.0.0", TestAgents.MODEL, false,
                List.of(), "0.50", ""));
        String path = "/v1/admin/tenants/%s/agent-settings".formatted(quitter.tenant().id());
        String operator = soma.gateway.operatorKey();
        assertThat(soma.gateway.send("GET", path, operator, null).json().get("source").asString()).isEqualTo("server");
        assertThat(soma.gateway.send("PUT", path, operator, "{\"on_client_gone\": \"stop\"}").status()).isEqualTo(400);
        assertThat(soma.gateway.send("PUT", path, quitter.apiKey(), "{\"on_client_gone\": \"cancel\"}").status()).isIn(401, 403);
        assertThat(soma.gateway.send("GET", "/v1/admin/tenants/%s/agent-settings".formatted(java.util.UUID.randomUUID()), operator, null).status())
                .isEqualTo(404);

        JsonNode set = soma.gateway.send("PUT", path, operator, "{\"on_client_gone\": \"cancel\"}").json();

        assertThat(set.get("on_client_gone").asString()).isEqualTo("cancel");
        assertThat(set.get("source").asString()).isEqualTo("tenant");
        soma.openAi.enqueue(new FixtureReply.SlowText(400, Duration.ofMillis(25)));
        HttpRequest start = soma.request("/v1/agents/quitter-talker/runs", quitter.apiKey()).header("Accept", "text/event-stream")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"Talk to me\"}")).build();
        List<TestAgents.Sse> first = soma.events(start, 3);
        String runId = first.getFirst().data().get("run_id").asString();
        List<TestAgents.Sse> all = soma.events(soma.request("/v1/runs/%s/events".formatted(runId), quitter.apiKey()).GET().build(), 10_000);
        assertThat(all.getLast().event()).isEqualTo("run.cancelled");
        assertThat(all.getLast().data().get("by").asString()).isEqualTo("client_gone");
        // Acme kept the server's default: its runs go on when the client leaves (the resume test above).
        assertThat(soma.gateway.send("GET", "/v1/admin/tenants/%s/agent-settings".formatted(acme.tenant().id()), operator, null).json()
                .get("on_client_gone").asString()).isEqualTo("continue");
    }

    @Test
    void aBadLastEventIdIsRefused() {
        soma.openAi.enqueue(new FixtureReply.Text("Short", 5, 1));
        String runId = soma.run(acme.apiKey(), "acme-talker", "{\"input\": \"hi\"}").json().get("id").asString();

        assertThat(soma.gateway.send("GET", "/v1/runs/%s/events".formatted(runId), acme.apiKey(), null, "Last-Event-ID", "minus one").status())
                .isEqualTo(400);
        // After the last event there is nothing more: the stream ends at once.
        assertThat(soma.events(soma.request("/v1/runs/%s/events".formatted(runId), acme.apiKey()).header("Last-Event-ID", "1000").GET().build(), 10))
                .isEmpty();
    }

    @Test
    void aWebSocketCancelStopsTheModelWithinASecondAndBillsWhatWasGenerated() throws Exception {
        String conversation = soma.gateway.send("POST", "/v1/conversations", acme.apiKey(), "{\"agent\": \"acme-talker\"}").json().get("id").asString();
        soma.openAi.enqueue(new FixtureReply.SlowText(400, Duration.ofMillis(25)));
        LinkedBlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();
        WebSocket socket = soma.http().newWebSocketBuilder().header("Authorization", "Bearer " + acme.apiKey())
                .buildAsync(URI.create(soma.gateway.baseUrl().replace("http:", "ws:") + "/v1/conversations/%s/ws".formatted(conversation)),
                        new Collector(received)).get(10, TimeUnit.SECONDS);

        socket.sendText("{\"type\": \"input\", \"input\": \"Tell me a long story\"}", true).get(5, TimeUnit.SECONDS);
        JsonNode event;
        int deltas = 0;
        do {
            event = received.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("an event").isNotNull();
            if (event.get("type").asString().equals("model.delta")) {
                deltas++;
            }
        } while (deltas < 3);
        String runId = event.get("run_id").asString();
        long cancelled = System.nanoTime();
        socket.sendText("{\"type\": \"cancel\"}", true).get(5, TimeUnit.SECONDS);
        do {
            event = received.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("an event").isNotNull();
        } while (!event.get("type").asString().startsWith("run."));

        assertThat(Duration.ofNanos(System.nanoTime() - cancelled)).isLessThan(Duration.ofSeconds(1));
        assertThat(event.get("type").asString()).isEqualTo("run.cancelled");
        assertThat(soma.openAi.awaitClientDisconnect(Duration.ofSeconds(5))).isTrue();
        JsonNode run = soma.gateway.send("GET", "/v1/runs/" + runId, acme.apiKey(), null).json();
        assertThat(run.get("status").asString()).isEqualTo("cancelled");
        assertThat(run.get("usage").get("output_tokens").asLong()).isBetween(3L, 399L);
        assertThat(Money.of(run.get("cost").asString())).isEqualTo(soma.sum("SELECT sum(cost) FROM usage_ledger WHERE request_id = '%s'".formatted(runId)))
                .isEqualTo(Money.of(event.get("data").get("cost").asString()));
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
    }

    @Test
    void aWebSocketCancelInterruptsARunningToolAndTheRunEndsCancelled() throws Exception {
        String conversation = soma.gateway.send("POST", "/v1/conversations", acme.apiKey(), "{\"agent\": \"acme-spinner\"}").json().get("id")
                .asString();
        soma.openAi.enqueue(new FixtureReply.ToolUse("loop", "{}", 10, 5));
        LinkedBlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();
        WebSocket socket = soma.http().newWebSocketBuilder().header("Authorization", "Bearer " + acme.apiKey())
                .buildAsync(URI.create(soma.gateway.baseUrl().replace("http:", "ws:") + "/v1/conversations/%s/ws".formatted(conversation)),
                        new Collector(received)).get(10, TimeUnit.SECONDS);

        socket.sendText("{\"type\": \"input\", \"input\": \"Spin\"}", true).get(5, TimeUnit.SECONDS);
        JsonNode event;
        do {
            event = received.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("an event").isNotNull();
        } while (!event.get("type").asString().equals("tool.started"));
        String runId = event.get("run_id").asString();
        socket.sendText("{\"type\": \"cancel\"}", true).get(5, TimeUnit.SECONDS);
        List<JsonNode> after = new ArrayList<>();
        do {
            event = received.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("an event").isNotNull();
            after.add(event);
        } while (!event.get("type").asString().startsWith("run."));

        // The module runs for ever: it was interrupted by the cancel, not stopped by its 5 s wall time.
        JsonNode failed = after.stream().filter(each -> each.get("type").asString().equals("tool.failed")).findFirst().orElseThrow();
        assertThat(failed.get("data").get("reason").asString()).isEqualTo("cancelled");
        assertThat(event.get("type").asString()).isEqualTo("run.cancelled");
        JsonNode run = soma.gateway.send("GET", "/v1/runs/" + runId, acme.apiKey(), null).json();
        assertThat(run.get("status").asString()).isEqualTo("cancelled");
        // The interrupted call is metered like any other: one model row and one tool row under the run.
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE request_id = '%s' AND meter = 'tool_call'".formatted(runId))).isEqualTo(1);
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
    }

    @Test
    void theCancelRouteStopsARunningToolAndAnswersTheCancelledRun() throws Exception {
        soma.openAi.enqueue(new FixtureReply.ToolUse("loop", "{}", 10, 5));
        HttpRequest start = soma.request("/v1/agents/acme-spinner/runs", acme.apiKey()).header("Accept", "text/event-stream")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"Spin\"}")).build();
        CompletableFuture<List<TestAgents.Sse>> stream = CompletableFuture.supplyAsync(() -> soma.events(start, 10_000));
        String runId;
        // Wait until the module runs (its tool.started is stored), at most as long as the stream's own timeout.
        long giveUp = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            assertThat(System.nanoTime()).as("the spinner's tool call started").isLessThan(giveUp);
            List<String> ids = soma.database.jdbi().withHandle(handle -> handle.createQuery(
                    "SELECT r.id::text FROM agent_runs r JOIN agent_run_events e ON e.run_id = r.id WHERE r.agent = 'acme-spinner' AND r.status = 'running' "
                            + "AND e.type = 'tool.started'").mapTo(String.class).list());
            if (!ids.isEmpty()) {
                runId = ids.getFirst();
                break;
            }
            Thread.sleep(20);
        }

        var cancelled = soma.gateway.send("POST", "/v1/runs/%s/cancel".formatted(runId), acme.apiKey(), null);

        assertThat(cancelled.status()).as(cancelled.raw().body()).isEqualTo(200);
        assertThat(cancelled.json().get("status").asString()).isEqualTo("cancelled");
        List<TestAgents.Sse> events = stream.get(30, TimeUnit.SECONDS);
        assertThat(events.getLast().event()).isEqualTo("run.cancelled");
        assertThat(events.stream().filter(event -> event.event().equals("tool.failed")).findFirst().orElseThrow().data().get("reason").asString())
                .isEqualTo("cancelled");
        // A retry answers the cancelled run; a completed run cannot be cancelled; another tenant's run is not found.
        assertThat(soma.gateway.send("POST", "/v1/runs/%s/cancel".formatted(runId), acme.apiKey(), null).json().get("status").asString())
                .isEqualTo("cancelled");
        soma.openAi.enqueue(new FixtureReply.Text("Done", 5, 1));
        String done = soma.run(acme.apiKey(), "acme-talker", "{\"input\": \"hi\"}").json().get("id").asString();
        assertThat(soma.gateway.send("POST", "/v1/runs/%s/cancel".formatted(done), acme.apiKey(), null).status()).isEqualTo(409);
        TestAgents.Client stranger = soma.tenant("stranger");
        assertThat(soma.gateway.send("POST", "/v1/runs/%s/cancel".formatted(runId), stranger.apiKey(), null).status()).isEqualTo(404);
    }

    @Test
    void aWebSocketIsRefusedWithoutCredentialsAndAnswersBadMessagesWithAnError() throws Exception {
        String conversation = soma.gateway.send("POST", "/v1/conversations", acme.apiKey(), "{\"agent\": \"acme-talker\"}").json().get("id").asString();
        URI uri = URI.create(soma.gateway.baseUrl().replace("http:", "ws:") + "/v1/conversations/%s/ws".formatted(conversation));
        CompletableFuture<WebSocket> anonymous = soma.http().newWebSocketBuilder().buildAsync(uri, new Collector(new LinkedBlockingQueue<>()));
        assertThat(anonymous).failsWithin(Duration.ofSeconds(10));

        LinkedBlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();
        WebSocket socket = soma.http().newWebSocketBuilder().header("Authorization", "Bearer " + acme.apiKey()).buildAsync(uri,
                new Collector(received)).get(10, TimeUnit.SECONDS);
        socket.sendText("{\"type\": \"input\", \"input\": \"\"}", true).get(5, TimeUnit.SECONDS);
        JsonNode error = received.poll(10, TimeUnit.SECONDS);
        assertThat(error.get("type").asString()).isEqualTo("error");
        assertThat(error.get("status").asInt()).isEqualTo(400);
        socket.sendText("not json", true).get(5, TimeUnit.SECONDS);
        assertThat(received.poll(10, TimeUnit.SECONDS).get("status").asInt()).isEqualTo(400);
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
    }

    /** Collects a WebSocket's text messages as JSON. */
    private record Collector(LinkedBlockingQueue<JsonNode> received) implements WebSocket.Listener {
        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            received.add(Json.mapper().readTree(data.toString()));
            webSocket.request(1);
            return null;
        }
    }
}
