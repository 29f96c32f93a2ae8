package io.somastack.tools;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import tools.jackson.databind.JsonNode;

/**
 * The outcome of one {@link ToolBroker#call}: completed with the tool's JSON result, or failed
 * with a {@link FailureReason}. A call that ran is in the ledger ({@code ledgerId}) whether it
 * completed or not; one refused before running (invalid arguments, denied) is not.
 */
public sealed interface ToolResult permits ToolResult.Completed, ToolResult.Failed {
    UUID callId();

    Call call();

    /** What was called: the capsule (and its installed version), the tool, its executor, and the SHA-256 of the arguments. */
    record Call(String capsule, String version, String digest, String tool, String executor, String argumentsSha256) {
        public Call {
            requireNonNull(capsule, "capsule is null");
            requireNonNull(version, "version is null");
            requireNonNull(digest, "digest is null");
            requireNonNull(tool, "tool is null");
            requireNonNull(executor, "executor is null");
            requireNonNull(argumentsSha256, "argumentsSha256 is null");
        }
    }

    /** One argument that does not match the input schema: where (a JSON pointer into the arguments) and why. */
    record ArgumentError(String pointer, String message) {
        public ArgumentError {
            requireNonNull(pointer, "pointer is null");
            requireNonNull(message, "message is null");
        }
    }

    /**
     * @param log what the tool wrote to its log (WebAssembly: stderr), bounded
     * @param decisionId the runtime policy decision that allowed the call
     */
    record Completed(UUID callId, Call call, JsonNode result, String resultSha256, String log, Duration duration, UUID decisionId,
            UUID ledgerId, Money cost) implements ToolResult {
        public Completed {
            requireNonNull(callId, "callId is null");
            requireNonNull(call, "call is null");
            requireNonNull(result, "result is null");
            requireNonNull(resultSha256, "resultSha256 is null");
            requireNonNull(log, "log is null");
            requireNonNull(duration, "duration is null");
            requireNonNull(decisionId, "decisionId is null");
            requireNonNull(ledgerId, "ledgerId is null");
            requireNonNull(cost, "cost is null");
        }
    }

    /**
     * @param errors for {@link FailureReason#INVALID_ARGUMENTS}, every error
     * @param decisionId the runtime policy decision, when policy was asked (a denial's id, or the allowing decision of a call that then failed)
     * @param ledgerId present when the call ran and was metered
     */
    record Failed(UUID callId, Call call, FailureReason reason, String message, List<ArgumentError> errors, String log, Duration duration,
            Optional<UUID> decisionId, Optional<UUID> ledgerId, Money cost) implements ToolResult {
        public Failed {
            requireNonNull(callId, "callId is null");
            requireNonNull(call, "call is null");
            requireNonNull(reason, "reason is null");
            requireNonNull(message, "message is null");
            errors = List.copyOf(errors);
            requireNonNull(log, "log is null");
            requireNonNull(duration, "duration is null");
            requireNonNull(decisionId, "decisionId is null");
            requireNonNull(ledgerId, "ledgerId is null");
            requireNonNull(cost, "cost is null");
        }
    }
}
