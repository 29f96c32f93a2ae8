package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The warm-up's own behaviour when there is nothing to warm; {@link StartupTest} runs it on a real server. */
class WarmUpTest {

    @Test
    void aWarmUpThatGetsNoAnswerStopsAtOnceInsteadOfSpinningForItsLength() throws IOException {
        int closedPort = ServerProcess.freePort();
        WarmUp.Outcome outcome = WarmUp.run("127.0.0.1", closedPort, Duration.ofSeconds(30), "token");

        assertThat(outcome.took()).isLessThan(Duration.ofSeconds(10));
        assertThat(outcome.unexpected()).isPositive().isEqualTo(outcome.requests());
    }
}
