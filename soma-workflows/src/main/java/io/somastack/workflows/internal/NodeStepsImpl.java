package io.somastack.workflows.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.Run;
import io.somastack.agents.RunStatus;
import io.somastack.agents.Runs;
import io.somastack.agents.StoredEvent;
import io.somastack.gateway.Principal;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.metering.Budgets;
import io.somastack.store.GroupCommit;
import io.somastack.workflows.Team;
import io.temporal.activity.Activity;
import io.temporal.failure.ApplicationFailure;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import tools.jackson.databind.JsonNode;

/**
 * The activities of a job, over PostgreSQL and the turn loop. A node's run id is derived from
 * (job, node, item, attempt) and recorded before the run starts, so a step repeated after a
 * crash follows the run it started rather than starting another; a run interrupted by a dead
 * node is replaced by a new attempt without counting as a failure. Thread-safe.
 */
public final class NodeStepsImpl implements NodeSteps {
    /** How long ending a job waits for its cancelled runs to stop (a running tool finishes first). */
    private static final java.time.Duration END_WAIT = java.time.Duration.ofSeconds(20);

    private final JobStore store;
    private final JobEvents events;
    private final JobMeter meter;
    private final Runs runs;
    private final Tenants tenants;
    private final Budgets budgets;
    private final JobProvenance provenance;
    private final GroupCommit commit;
    private final Clock clock;

    public NodeStepsImpl(JobStore store, JobEvents events, JobMeter meter, Runs runs, Tenants tenants, Budgets budgets, JobProvenance provenance,
            GroupCommit commit, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.events = requireNonNull(events, "events is null");
        this.meter = requireNonNull(meter, "meter is null");
        this.runs = requireNonNull(runs, "runs is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.provenance = requireNonNull(provenance, "provenance is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public String team(String jobId) {
        return Json.text(store.job(UUID.fromString(jobId)).team());
    }

    @Override
    public String startNode(String jobId, String node) {
        JobStore.StoredJob job = store.job(UUID.fromString(jobId));
        JobStore.StoredNode stored = store.nodes(job).get(node);
        if (stored.status().equals("completed")) {
            return Json.text(Map.of("done", true, "output", stored.output().orElse("")));
        }
        Team.Node spec = job.team().node(node).orElseThrow();
        int items = 1;
        if (spec.forEach() != null) {
            try {
                items = Templates.items(spec.forEach(), job.input(), store.outputs(job)).size();
            } catch (IllegalArgumentException e) {
                throw ApplicationFailure.newNonRetryableFailure(e.getMessage(), "refused");
            }
        }
        int count = items;
        moveAndTell(job, node, List.of("pending"), "running", Optional.empty(), Optional.empty(), "node.started",
                Map.of("node", node, "items", count));
        return Json.text(Map.of("done", false, "items", items));
    }

    @Override
    public String runItem(String jobId, String node, int item) {
        JobStore.StoredJob job = store.job(UUID.fromString(jobId));
        Team.Node spec = job.team().node(node).orElseThrow();
        while (true) {
            Optional<JobStore.NodeRun> latest = store.latest(job.id(), node, item);
            if (latest.isEmpty() || latest.get().billed()) {
                // No run yet, or the last one ended and was counted: a new attempt.
                int attempt = latest.map(run -> run.attempt() + 1).orElse(1);
                UUID runId = UUID.nameUUIDFromBytes("%s/%s/%d/%d".formatted(job.id(), node, item, attempt).getBytes(StandardCharsets.UTF_8));
                commit.execute(tx -> {
                    store.insertRun(tx, job.id(), job.tenant(), node, item, attempt, runId, clock.now());
                    return null;
                });
                continue;
            }
            JobStore.NodeRun current = latest.get();
            Optional<Run> run = runs.find(job.tenant(), current.runId());
            if (run.isEmpty()) {
                start(job, spec, item, current.runId());
            }
            Run ended = follow(job, current);
            bill(job, node, current, ended);
            switch (ended.status()) {
                case COMPLETED -> {
                    return ended.answer().orElse("");
                }
                case INTERRUPTED -> {
                    // Its node died: not the agent's failure, so a new attempt without using a retry.
                }
                case FAILED, CANCELLED, RUNNING -> {
                    String reason = "run %s %s%s".formatted(ended.id(), ended.status().wire(), ended.reason().map(text -> " (" + text + ")").orElse(""));
                    if (store.job(job.id()).status().equals("running")) {
                        events.append(job.tenant(), job.id(), "node.attempt.failed", Map.of("node", node, "item", item,
                                "attempt", current.attempt(), "run_id", ended.id().toString(), "reason", reason));
                    }
                    throw ApplicationFailure.newFailure(reason, "run_" + ended.status().wire());
                }
            }
        }
    }

    /** Starts the item's run under {@code runId}; a refusal (policy, budget, capsule) fails the node without retries. */
    private void start(JobStore.StoredJob job, Team.Node spec, int item, UUID runId) {
        Map<String, String> outputs = store.outputs(job);
        Optional<JsonNode> value = Optional.empty();
        if (spec.forEach() != null) {
            value = Optional.of(Templates.items(spec.forEach(), job.input(), outputs).get(item));
        }
        String input = Templates.render(spec.input(), job.input(), outputs, value);
        Principal principal = tenants.authenticateSession(job.keyId());
        try {
            runs.start(principal, job.requestId(), new Runs.StartRun(Optional.of(spec.capsule()), Optional.empty(), input,
                    Optional.ofNullable(spec.toolChoice())), runId);
        } catch (SomaException e) {
            if (e.code() == ErrorCode.CONFLICT) {
                return;
            }
            String detail = e.detail() + (e.extensions().containsKey("decision_id") ? " (decision " + e.extensions().get("decision_id") + ")" : "");
            throw ApplicationFailure.newNonRetryableFailure(detail, e.code() == ErrorCode.POLICY_DENIED ? "policy_denied" : "refused");
        }
    }

    /** Follows the run to its end, forwarding each event not yet forwarded to the job's stream; returns the ended run. */
    private Run follow(JobStore.StoredJob job, JobStore.NodeRun current) {
        try {
            runs.follow(job.tenant(), current.runId(), current.forwardedSeq(), event -> forward(job, current, event));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while following run " + current.runId(), e);
        }
        return runs.require(job.tenant(), current.runId());
    }

    private void forward(JobStore.StoredJob job, JobStore.NodeRun current, StoredEvent event) {
        if (!store.job(job.id()).status().equals("running")) {
            // The job ended (cancelled, or failed by a sibling): its stream ended with it; the run's own stream has the rest.
            return;
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("node", current.node());
        data.put("item", current.item());
        data.put("run_id", current.runId().toString());
        data.put("seq", event.seq());
        data.put("data", Json.mapper().readTree(event.dataJson()));
        commit.execute(tx -> {
            events.insert(tx, job.tenant(), job.id(), event.type(), data);
            store.forwarded(tx, current.runId(), event.seq());
            return null;
        });
        events.wake();
        try {
            Activity.getExecutionContext().heartbeat(event.seq());
        } catch (RuntimeException notInActivity) {
            // Heartbeats only report progress; a failure here must not lose the event already stored.
        }
    }

    /** The run's wall time as job-minutes, once per run. */
    private void bill(JobStore.StoredJob job, String node, JobStore.NodeRun current, Run ended) {
        Instant end = ended.finishedAt().orElseGet(clock::now);
        commit.execute(tx -> {
            if (store.markBilled(tx, current.runId())) {
                meter.record(tx, job, "job:" + job.id() + ":run:" + current.runId(), "node:" + node, ended.createdAt(), end);
            }
            return null;
        });
    }

    @Override
    public String completeNode(String jobId, String node, List<String> outputs) {
        JobStore.StoredJob job = store.job(UUID.fromString(jobId));
        Team.Node spec = job.team().node(node).orElseThrow();
        String output = spec.forEach() != null ? Json.text(outputs) : outputs.getFirst();
        moveAndTell(job, node, List.of("running", "waiting"), "completed", Optional.of(output), Optional.empty(), "node.completed",
                Map.of("node", node, "output", output));
        settleNode(job, node);
        return store.nodes(job).get(node).output().orElse(output);
    }

    @Override
    public void failNode(String jobId, String node, String reason) {
        JobStore.StoredJob job = store.job(UUID.fromString(jobId));
        moveAndTell(job, node, List.of("pending", "running", "waiting"), "failed", Optional.empty(), Optional.of(reason), "node.failed",
                Map.of("node", node, "reason", reason));
        settleNode(job, node);
    }

    @Override
    public void skipNode(String jobId, String node) {
        JobStore.StoredJob job = store.job(UUID.fromString(jobId));
        moveAndTell(job, node, List.of("pending"), "skipped", Optional.empty(), Optional.empty(), "node.skipped", Map.of("node", node));
        settleNode(job, node);
    }

    @Override
    public String requestApproval(String jobId, String node) {
        JobStore.StoredJob job = store.job(UUID.fromString(jobId));
        JobStore.StoredNode stored = store.nodes(job).get(node);
        if (stored.approval().isPresent()) {
            return stored.approval().get().get("approve").asBoolean() ? "approved" : "rejected";
        }
        Team.Node spec = job.team().node(node).orElseThrow();
        moveAndTell(job, node, List.of("pending"), "waiting", Optional.empty(), Optional.empty(), "approval.requested",
                Map.of("node", node, "prompt", spec.prompt() == null ? "" : spec.prompt()));
        return "";
    }

    @Override
    public void endJob(String jobId, String status, String reason) {
        JobStore.StoredJob job = store.job(UUID.fromString(jobId));
        if (!job.status().equals("running")) {
            return;
        }
        // Runs still going (a cancel, or a sibling of a failed node) are stopped, and each is billed what it used before
        // the job's reservations are settled.
        List<JobStore.NodeRun> started = store.runs(job.id());
        for (JobStore.NodeRun run : started) {
            if (runs.find(job.tenant(), run.runId()).map(found -> found.status() == RunStatus.RUNNING).orElse(false)) {
                runs.cancel(job.tenant(), run.runId(), "job " + status);
            }
        }
        for (JobStore.NodeRun run : started) {
            awaitEnd(job, run.runId()).ifPresent(ended -> bill(job, run.node(), run, ended));
        }
        Instant now = clock.now();
        Optional<String> signed = status.equals("completed") ? Optional.of(provenance.sign(job, store.runs(job.id()), now)) : Optional.empty();
        // The job's own minutes are written and every reservation settled before the terminal event, so a client that saw
        // the job end sees its budget settled; written under idempotency keys, a repeated ending changes nothing.
        String cost = commit.execute(tx -> meter.record(tx, job, "job:" + job.id() + ":wall", "job", job.createdAt(), now)).cost().toPlainString();
        store.nodes(job).keySet().forEach(node -> settleNode(job, node));
        budgets.settle(job.reservation(), meter.cost(job));
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("job_id", job.id().toString());
        if (!reason.isEmpty() && !status.equals("completed")) {
            data.put("reason", reason);
        }
        data.put("cost", cost);
        commit.execute(tx -> {
            if (!store.endJob(tx, job.id(), status, reason.isEmpty() ? Optional.empty() : Optional.of(reason), signed, now)) {
                return null;
            }
            for (JobStore.StoredNode node : store.nodes(job).values()) {
                if (node.status().equals("pending") || node.status().equals("running") || node.status().equals("waiting")) {
                    store.move(tx, job.id(), node.node(), List.of(node.status()), status.equals("cancelled") ? "cancelled" : "skipped",
                            Optional.empty(), Optional.empty(), now);
                }
            }
            events.insert(tx, job.tenant(), job.id(), "job." + status, data);
            return null;
        });
        events.wake();
    }

    /** The run once it has ended; empty when it is still running after {@link #END_WAIT} (it is billed when its step sees it end). */
    private Optional<Run> awaitEnd(JobStore.StoredJob job, UUID runId) {
        long deadline = System.nanoTime() + END_WAIT.toNanos();
        while (true) {
            Optional<Run> run = runs.find(job.tenant(), runId);
            if (run.isEmpty() || run.get().status() != RunStatus.RUNNING) {
                return run;
            }
            if (System.nanoTime() > deadline) {
                return Optional.empty();
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }
    }

    /** Settles the node's reservation with the job-minutes its runs were billed. */
    private void settleNode(JobStore.StoredJob job, String node) {
        budgets.settle(store.nodes(job).get(node).reservation(), meter.nodeCost(job, node));
    }

    private void moveAndTell(JobStore.StoredJob job, String node, List<String> from, String to, Optional<String> output, Optional<String> reason,
            String event, Map<String, ?> data) {
        boolean moved = commit.execute(tx -> {
            if (!store.move(tx, job.id(), node, from, to, output, reason, clock.now())) {
                return false;
            }
            events.insert(tx, job.tenant(), job.id(), event, data);
            return true;
        });
        if (moved) {
            events.wake();
        }
    }

}
