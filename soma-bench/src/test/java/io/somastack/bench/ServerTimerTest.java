package io.somastack.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ServerTimerTest {
    private static final String BEFORE = """
            # TYPE http_server_requests_seconds histogram
            http_server_requests_seconds_count{method="POST",route="/v1/chat/completions",status="200"} 10
            http_server_requests_seconds_sum{method="POST",route="/v1/chat/completions",status="200"} 0.05
            http_server_requests_seconds_count{method="POST",route="/v1/chat/completions",status="429"} 3
            http_server_requests_seconds_sum{method="POST",route="/v1/chat/completions",status="429"} 9.0
            http_server_requests_seconds_count{method="GET",route="/metrics",status="200"} 1
            """;
    private static final String AFTER = BEFORE.replace("200\"} 10", "200\"} 30").replace("200\"} 0.05", "200\"} 0.25");

    @Test
    void averagesOnlySuccessfulChatCompletionsBetweenTwoScrapes() {
        ServerTimer before = ServerTimer.parse(BEFORE);
        ServerTimer after = ServerTimer.parse(AFTER);

        assertThat(before).isEqualTo(new ServerTimer(10, 0.05));
        assertThat(after.meanMillisSince(before)).hasValue(10.0);
    }

    @Test
    void hasNoMeanWithoutNewCalls() {
        ServerTimer timer = ServerTimer.parse(BEFORE);

        assertThat(timer.meanMillisSince(timer)).isEmpty();
    }
}
