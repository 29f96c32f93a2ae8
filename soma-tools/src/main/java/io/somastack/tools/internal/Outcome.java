package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.tools.FailureReason;
import tools.jackson.databind.JsonNode;

/** What an executor made of one call: the tool's JSON result, or a failure with its reason. */
public sealed interface Outcome permits Outcome.Success, Outcome.Failure {
    String log();

    record Success(JsonNode result, String log) implements Outcome {
        public Success {
            requireNonNull(result, "result is null");
            requireNonNull(log, "log is null");
        }
    }

    record Failure(FailureReason reason, String message, String log) implements Outcome {
        public Failure {
            requireNonNull(reason, "reason is null");
            requireNonNull(message, "message is null");
            requireNonNull(log, "log is null");
        }
    }
}
