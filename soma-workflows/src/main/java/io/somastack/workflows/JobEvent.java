package io.somastack.workflows;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;

/**
 * One stored event of a job: {@code job.started}, {@code node.started}, a node's run events
 * forwarded (their own type, data {@code {node, item, run_id, seq, data}}), {@code node.completed},
 * {@code node.attempt.failed} (a run failed; the node retries if it may), {@code node.failed}, {@code node.skipped},
 * {@code approval.requested}, {@code approval.answered}
 * and one terminal {@code job.completed}, {@code job.failed} or {@code job.cancelled}. {@code seq}
 * counts from 1 without gaps per job; {@code data} is the exact JSON text sent.
 */
public record JobEvent(UUID jobId, int seq, String type, String data, Instant at) {
    private static final Set<String> TERMINAL = Set.of("job.completed", "job.failed", "job.cancelled");

    public JobEvent {
        requireNonNull(jobId, "jobId is null");
        requireNonNull(type, "type is null");
        requireNonNull(data, "data is null");
        requireNonNull(at, "at is null");
    }

    public boolean terminal() {
        return TERMINAL.contains(type);
    }

    /** One server-sent event: {@code event: <type>}, {@code id: <seq>}, {@code data: <json>}. */
    public byte[] sseFrame() {
        return "event: %s\nid: %d\ndata: %s\n\n".formatted(type, seq, data).getBytes(StandardCharsets.UTF_8);
    }
}
