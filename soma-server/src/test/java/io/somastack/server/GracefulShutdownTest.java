package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/** Shutdown stops accepting, lets every request already in flight finish, and flushes the ledger. */
class GracefulShutdownTest {

    @Test
    void requestsInFlightAtShutdownFinishAndAreBilled() throws Exception {
        TestServer soma = TestServer.start("");
        String key = soma.key(soma.tenant("shutdown-co", ""), "{}");
        String body = "{\"model\":\"local\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"max_tokens\":64}";
        CountDownLatch firstAnswered = new CountDownLatch(1);
        List<CompletableFuture<TestServer.Response>> calls = new ArrayList<>();
        long[] closeStarted = new long[1];
        List<Long> answeredAt = java.util.Collections.synchronizedList(new ArrayList<>());

        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 24; i++) {
                String requestId = "inflight-" + i;
                calls.add(CompletableFuture.supplyAsync(() -> {
                    TestServer.Response response = soma.post("/v1/chat/completions", key, body, "X-Request-Id", requestId);
                    answeredAt.add(System.nanoTime());
                    firstAnswered.countDown();
                    return response;
                }, pool));
            }
            firstAnswered.await();
            closeStarted[0] = System.nanoTime();
            // The server itself, not TestServer.close: that first shuts its client down, which must not be what lets the calls finish.
            soma.server.close();
        }

        List<TestServer.Response> responses = calls.stream().map(CompletableFuture::join).toList();
        assertThat(responses).allSatisfy(response -> assertThat(response.status()).as(response.body()).isEqualTo(200));
        assertThat(answeredAt.stream().filter(at -> at > closeStarted[0]).count())
                .as("requests answered after shutdown began").isPositive();
        Jdbi jdbi = Jdbi.create(soma.databaseUrl, "postgres", "");
        List<String> ledger = jdbi.withHandle(handle -> handle.createQuery(
                "SELECT request_id FROM usage_ledger WHERE meter = 'model.tokens'").mapTo(String.class).list());
        assertThat(ledger).hasSize(24).doesNotHaveDuplicates();
    }
}
