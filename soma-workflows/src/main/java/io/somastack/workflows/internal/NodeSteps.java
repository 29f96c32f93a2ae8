package io.somastack.workflows.internal;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;
import java.util.List;

/**
 * The activities of a job: each reads and writes PostgreSQL, so each is idempotent and a step
 * replayed after a restart finds what was recorded (a completed node's output, an answered
 * approval, a started run) instead of doing it again.
 */
@ActivityInterface
public interface NodeSteps {
    /** The job's team as JSON. */
    @ActivityMethod
    String team(String jobId);

    /** Marks the node running ({@code node.started} once); {@code {"done", "output", "items"}}: done with the output when recorded complete. */
    @ActivityMethod
    String startNode(String jobId, String node);

    /** Runs one item of an agent node (one turn-loop run, idempotent by run id); returns the answer. */
    @ActivityMethod
    String runItem(String jobId, String node, int item);

    /** Records the node complete with its output (a fan-out: the JSON array of the items' answers). */
    @ActivityMethod
    String completeNode(String jobId, String node, List<String> outputs);

    @ActivityMethod
    void failNode(String jobId, String node, String reason);

    @ActivityMethod
    void skipNode(String jobId, String node);

    /** Marks an approval waiting ({@code approval.requested} once); returns the recorded answer, "approved" or "rejected", or "". */
    @ActivityMethod
    String requestApproval(String jobId, String node);

    /** Ends the job: status, job-minutes, reservations settled, the terminal event. */
    @ActivityMethod
    void endJob(String jobId, String status, String reason);
}
