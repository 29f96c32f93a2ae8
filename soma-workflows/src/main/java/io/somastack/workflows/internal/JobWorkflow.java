package io.somastack.workflows.internal;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.util.Map;

/** One job as a Temporal workflow (workflow id = job id): approvals are signals, the node states a query, cancel is cancellation. */
@WorkflowInterface
public interface JobWorkflow {
    /** Runs the job's DAG to its end; returns the final status. */
    @WorkflowMethod
    String run(String jobId);

    /** A person's answer to approval node {@code node} (already recorded in PostgreSQL by the route). */
    @SignalMethod
    void approve(String node, boolean approve);

    /** Each node's state as the workflow sees it. */
    @QueryMethod
    Map<String, String> states();
}
