package io.somastack.workflows.internal;

import io.somastack.kernel.Json;
import io.somastack.workflows.Team;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.failure.TemporalFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * Schedules a team's DAG deterministically: a node starts when every node upstream of it has
 * ended, runs when one of its incoming edges holds (or it has none), and is skipped otherwise.
 * Fan-out items run in parallel, each an activity with the node's timeout and retries. The
 * first failed node fails the job; cancellation ends it cancelled. Every step goes through
 * {@link NodeSteps}, which consults PostgreSQL first: replayed from the start on a fresh engine
 * after a restart, completed nodes return their recorded output and run nothing.
 */
public final class JobWorkflowImpl implements JobWorkflow {
    private final NodeSteps steps = Workflow.newActivityStub(NodeSteps.class, ActivityOptions.newBuilder()
            .setStartToCloseTimeout(Duration.ofSeconds(30)).setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(20).build()).build());
    private final Map<String, String> states = new LinkedHashMap<>();
    private final Map<String, Boolean> answers = new HashMap<>();
    private final Map<String, String> outputs = new HashMap<>();

    @Override
    public String run(String jobId) {
        Team team = Json.read(steps.team(jobId).getBytes(StandardCharsets.UTF_8), Team.class);
        team.nodes().forEach(node -> states.put(node.id(), "pending"));
        Map<String, Promise<String>> running = new LinkedHashMap<>();
        try {
            while (true) {
                for (Team.Node node : team.nodes()) {
                    if (!states.get(node.id()).equals("pending") || !upstreamEnded(team, node)) {
                        continue;
                    }
                    if (runs(team, node)) {
                        states.put(node.id(), "running");
                        running.put(node.id(), Async.function(this::execute, jobId, node));
                    } else {
                        steps.skipNode(jobId, node.id());
                        states.put(node.id(), "skipped");
                    }
                }
                if (running.isEmpty()) {
                    break;
                }
                try {
                    Promise.anyOf(new ArrayList<>(running.values())).get();
                } catch (TemporalFailure firstEndedInFailure) {
                    // anyOf fails with the first failed node; every ended node is examined below.
                }
                if (CancellationScope.current().isCancelRequested()) {
                    throw new CanceledFailure("job cancelled");
                }
                for (String node : List.copyOf(running.keySet())) {
                    Promise<String> promise = running.get(node);
                    if (!promise.isCompleted()) {
                        continue;
                    }
                    running.remove(node);
                    RuntimeException failure = promise.getFailure();
                    if (failure instanceof CanceledFailure canceled) {
                        throw canceled;
                    }
                    if (failure != null) {
                        String reason = reason(failure);
                        states.put(node, "failed");
                        steps.failNode(jobId, node, reason);
                        steps.endJob(jobId, "failed", "node %s failed: %s".formatted(node, reason));
                        return "failed";
                    }
                    states.put(node, "completed");
                    outputs.put(node, promise.get());
                }
            }
            steps.endJob(jobId, "completed", "");
            return "completed";
        } catch (CanceledFailure e) {
            Workflow.newDetachedCancellationScope(() -> steps.endJob(jobId, "cancelled", "cancelled")).run();
            return "cancelled";
        }
    }

    private boolean upstreamEnded(Team team, Team.Node node) {
        return team.into(node.id()).stream().map(edge -> states.get(edge.from()))
                .allMatch(state -> state.equals("completed") || state.equals("skipped"));
    }

    private boolean runs(Team team, Team.Node node) {
        List<Team.Edge> incoming = team.into(node.id());
        if (incoming.isEmpty()) {
            return true;
        }
        return incoming.stream().anyMatch(edge -> states.get(edge.from()).equals("completed")
                && (edge.when() == null || edge.when().holds(outputs.getOrDefault(edge.from(), ""), Optional.ofNullable(answers.get(edge.from())))));
    }

    private String execute(String jobId, Team.Node node) {
        if (node.approval()) {
            String recorded = steps.requestApproval(jobId, node.id());
            if (recorded.isEmpty()) {
                states.put(node.id(), "waiting");
                if (!Workflow.await(Duration.ofSeconds(node.timeout()), () -> answers.containsKey(node.id()))) {
                    throw ApplicationFailure.newNonRetryableFailure("no answer within %d s".formatted(node.timeout()), "approval_timeout");
                }
                recorded = steps.requestApproval(jobId, node.id());
            }
            answers.put(node.id(), recorded.equals("approved"));
            return steps.completeNode(jobId, node.id(), List.of(recorded));
        }
        JsonNode started = Json.mapper().readTree(steps.startNode(jobId, node.id()));
        if (started.get("done").asBoolean()) {
            return started.get("output").asString();
        }
        NodeSteps runner = Workflow.newActivityStub(NodeSteps.class, ActivityOptions.newBuilder()
                .setStartToCloseTimeout(Duration.ofSeconds(node.timeout()))
                .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(node.attempts()).setInitialInterval(Duration.ofMillis(200))
                        .setDoNotRetry("policy_denied", "refused").build())
                .build());
        int items = started.get("items").asInt();
        List<Promise<String>> pending = new ArrayList<>();
        for (int item = 0; item < items; item++) {
            pending.add(Async.function(runner::runItem, jobId, node.id(), item));
        }
        List<String> results = new ArrayList<>();
        for (Promise<String> answer : pending) {
            results.add(answer.get());
        }
        return steps.completeNode(jobId, node.id(), results);
    }

    private static String reason(RuntimeException failure) {
        Throwable cause = failure;
        while (cause instanceof ActivityFailure || (cause instanceof TemporalFailure && cause.getCause() != null
                && !(cause instanceof ApplicationFailure))) {
            cause = cause.getCause();
        }
        return cause instanceof ApplicationFailure application ? application.getOriginalMessage() : String.valueOf(cause.getMessage());
    }

    @Override
    public void approve(String node, boolean approve) {
        answers.put(node, approve);
    }

    @Override
    public Map<String, String> states() {
        return Map.copyOf(states);
    }
}
