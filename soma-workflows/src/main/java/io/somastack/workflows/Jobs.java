package io.somastack.workflows;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.Idempotency;
import io.somastack.gateway.Principal;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.marketplace.Catalog;
import io.somastack.marketplace.Installed;
import io.somastack.marketplace.Installs;
import io.somastack.metering.Budgets;
import io.somastack.metering.Reservation;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.workflows.internal.JobEvents;
import io.somastack.workflows.internal.JobMeter;
import io.somastack.workflows.internal.JobStore;
import io.somastack.workflows.internal.JobWorkflow;
import io.somastack.workflows.internal.TemporalEngine;
import io.somastack.workflows.internal.Templates;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * Starts, answers, cancels and reads jobs. {@link #start} validates the team (one 400 listing every
 * problem), reserves the job's worst case against the tenant's and key's budgets (402, and nothing
 * runs), stores the job, its nodes and {@code job.started} in one durable transaction, then starts
 * its Temporal workflow (workflow id = job id). {@link #resume()} restarts the workflow of every job
 * PostgreSQL says is running (after a restart the embedded engine has forgotten them). Thread-safe.
 */
public final class Jobs {
    private static final Logger LOG = LoggerFactory.getLogger(Jobs.class);

    private final WorkflowsConfig config;
    private final JobStore store;
    private final JobEvents events;
    private final JobMeter meter;
    private final Installs installs;
    private final Catalog catalog;
    private final Budgets budgets;
    private final GroupCommit commit;
    private final Supplier<TemporalEngine> engine;
    private final Clock clock;
    private final Ids ids;

    Jobs(WorkflowsConfig config, JobStore store, JobEvents events, JobMeter meter, Installs installs, Catalog catalog, Budgets budgets,
            GroupCommit commit, Supplier<TemporalEngine> engine, Clock clock, Ids ids) {
        this.config = requireNonNull(config, "config is null");
        this.store = requireNonNull(store, "store is null");
        this.events = requireNonNull(events, "events is null");
        this.meter = requireNonNull(meter, "meter is null");
        this.installs = requireNonNull(installs, "installs is null");
        this.catalog = requireNonNull(catalog, "catalog is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.engine = requireNonNull(engine, "engine is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    /** What a client submits: the team and the job's input (any JSON; templates read its fields). */
    public record StartJob(Team team, JsonNode input) {
        public StartJob {
            requireNonNull(team, "team is null");
            requireNonNull(input, "input is null");
        }
    }

    /**
     * The team declared in the {@code team:} section of the manifest of {@code capsule}, as installed
     * in {@code tenant}: 404 if it is not installed (410 if its version was revoked), 400 if its
     * manifest declares no team. The team is checked when the job starts, like a team sent as JSON.
     */
    public Team namedTeam(TenantId tenant, String capsule) {
        Installed installed = installs.runnable(tenant, capsule);
        Map<String, Object> manifest = catalog.version(installed.name(), installed.version())
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "%s %s is not in the catalog".formatted(capsule, installed.version())))
                .manifest();
        return declaredTeam(manifest).orElseThrow(() -> new SomaException(ErrorCode.INVALID_REQUEST,
                "Capsule %s (version %s) declares no team: its capsule.yaml has no team section; send the team's nodes and edges instead"
                        .formatted(capsule, installed.version()), Map.of("capsule", capsule)));
    }

    /**
     * The problems of the team a manifest declares, as {@code tenant} installs capsule {@code name}
     * (the marketplace asks before admission): its graph, with its capsules installed in the tenant.
     */
    List<String> manifestProblems(TenantId tenant, String name, Map<String, Object> manifest) {
        try {
            return declaredTeam(manifest).map(team -> TeamCheck.manifestProblems(team,
                    capsule -> capsule.equals(name) || installs.find(tenant, capsule).isPresent(), config.maxNodes())).orElse(List.of());
        } catch (SomaException e) {
            return List.of("team: " + e.getMessage());
        }
    }

    private static Optional<Team> declaredTeam(Map<String, Object> manifest) {
        Object declared = manifest.get("team");
        return declared == null ? Optional.empty() : Optional.of(Json.convert(Json.mapper().valueToTree(declared), Team.class));
    }

    /** Accepts a job and starts it; returns its view (as {@link #view}). */
    public Map<String, Object> start(Principal principal, String requestId, StartJob command, Optional<Idempotency.Request> keyed,
            Idempotency idempotency) {
        TenantId tenant = principal.tenant().id();
        Team team = command.team();
        List<String> problems = TeamCheck.problems(team, command.input(), capsule -> installs.find(tenant, capsule).isPresent(),
                config.maxNodes(), config.maxItems());
        if (!problems.isEmpty()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The team has %d problem%s: %s".formatted(problems.size(),
                    problems.size() == 1 ? "" : "s", String.join("; ", problems)), Map.of("errors", problems));
        }
        Money price = meter.price();
        Map<String, Integer> items = new LinkedHashMap<>();
        for (Team.Node node : team.nodes()) {
            items.put(node.id(), node.forEach() == null ? 1
                    : Templates.upstream(node.forEach()).isPresent() ? config.maxItems() : Templates.items(node.forEach(), command.input(), Map.of()).size());
        }
        Map<String, Reservation> reserved = new LinkedHashMap<>();
        Reservation job;
        try {
            for (Team.Node node : team.nodes()) {
                BigDecimal budget = node.budgetUsd() == null ? BigDecimal.ZERO : node.budgetUsd();
                Money worst = JobMeter.nodeWorstCase(node, items.get(node.id()), price)
                        .plus(Money.of(budget.multiply(BigDecimal.valueOf((long) items.get(node.id()) * node.attempts()))));
                reserved.put(node.id(), reserve(principal, worst));
            }
            job = reserve(principal, JobMeter.jobWorstCase(team, items, price));
        } catch (RuntimeException e) {
            reserved.values().forEach(budgets::release);
            throw e;
        }
        UUID id = ids.next();
        Instant now = clock.now();
        Map<String, Object> started = new LinkedHashMap<>();
        started.put("job_id", id.toString());
        started.put("nodes", team.nodes().stream().map(Team.Node::id).toList());
        started.put("reserved", reserved.values().stream().map(Reservation::amount).reduce(job.amount(), Money::plus).toPlainString());
        JobStore.StoredJob initial = new JobStore.StoredJob(id, tenant, principal.keyId(), team, command.input(), "running", Optional.empty(),
                requestId, job, now, Optional.empty(), 1, Optional.empty());
        Map<String, JobStore.StoredNode> pending = new LinkedHashMap<>();
        reserved.forEach((node, reservation) -> pending.put(node, new JobStore.StoredNode(node, "pending", Optional.empty(), Optional.empty(),
                Optional.empty(), reservation, Optional.empty(), Optional.empty())));
        Map<String, Object> answer = view(initial, pending, List.of());
        try {
            commit.execute(tx -> {
                store.insertJob(tx, id, tenant, principal.keyId(), team, command.input(), requestId, job, reserved, now);
                events.insert(tx, tenant, id, "job.started", started);
                tx.audit(new AuditEntry(Optional.of(tenant), principal.actor(), "workflow.job.start", id.toString(), requestId,
                        Map.of("nodes", team.nodes().size())));
                idempotency.remember(tx, keyed, 201, Json.bytes(answer));
                return null;
            });
        } catch (RuntimeException e) {
            reserved.values().forEach(budgets::release);
            budgets.release(job);
            throw e;
        }
        events.wake();
        launch(id);
        return answer;
    }

    private Reservation reserve(Principal principal, Money amount) {
        return budgets.reserve(principal.tenant().id(), principal.keyId(), principal.tenant().monthlyBudget(), principal.keyBudget(), amount);
    }

    private void launch(UUID id) {
        WorkflowClient client = engine.get().client();
        JobWorkflow workflow = client.newWorkflowStub(JobWorkflow.class, WorkflowOptions.newBuilder().setWorkflowId(id.toString())
                .setTaskQueue(engine.get().taskQueue()).build());
        try {
            WorkflowClient.start(workflow::run, id.toString());
        } catch (WorkflowExecutionAlreadyStarted alreadyRunning) {
            // A cluster still runs it (another node resumed it first, or it never stopped).
        }
    }

    /** Restarts the workflow of every job PostgreSQL records as running; returns how many. */
    public int resume() {
        List<UUID> running = store.running();
        running.forEach(this::launch);
        if (!running.isEmpty()) {
            LOG.info("Resumed {} unfinished jobs from their records", running.size());
        }
        return running.size();
    }

    /** The tenant's job, or 404 (also for another tenant's job). */
    public Map<String, Object> require(TenantId tenant, UUID id) {
        return view(job(tenant, id));
    }

    private JobStore.StoredJob job(TenantId tenant, UUID id) {
        return store.job(tenant, id).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No job %s in this tenant".formatted(id)));
    }

    /** Answers approval node {@code node}: recorded first (so a restart keeps it), then signalled to the workflow. */
    public Map<String, Object> approve(Principal principal, String requestId, UUID id, String node, boolean approve, String comment) {
        TenantId tenant = principal.tenant().id();
        JobStore.StoredJob job = job(tenant, id);
        Team.Node spec = job.team().node(node).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND,
                "Job %s has no node %s".formatted(id, node)));
        if (!spec.approval()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "Node %s of job %s is an agent, not an approval".formatted(node, id));
        }
        JobStore.StoredNode stored = store.nodes(job).get(node);
        if (!stored.status().equals("waiting") || stored.approval().isPresent()) {
            throw new SomaException(ErrorCode.CONFLICT, "Approval %s of job %s is %s, not waiting for an answer".formatted(node, id,
                    stored.approval().isPresent() ? "already answered" : stored.status()));
        }
        Instant now = clock.now();
        commit.execute(tx -> {
            store.recordApproval(tx, id, node, approve, comment, principal.actor(), now);
            events.insert(tx, tenant, id, "approval.answered", Map.of("node", node, "approve", approve, "comment", comment,
                    "by", principal.actor()));
            tx.audit(new AuditEntry(Optional.of(tenant), principal.actor(), "workflow.job.approve", id + "/" + node, requestId,
                    Map.of("approve", approve)));
            return null;
        });
        events.wake();
        try {
            engine.get().client().newWorkflowStub(JobWorkflow.class, id.toString()).approve(node, approve);
        } catch (RuntimeException e) {
            // The workflow is not running here (a restart resumes it, and it reads the recorded answer).
            LOG.warn("Signalling approval {} of job {} failed: {}", node, id, e.getMessage());
        }
        return view(job(tenant, id));
    }

    /** Cancels the tenant's running job: the workflow is cancelled, and ending it stops the runs under way (each billed what it used). */
    public Map<String, Object> cancel(Principal principal, String requestId, UUID id) {
        TenantId tenant = principal.tenant().id();
        JobStore.StoredJob job = job(tenant, id);
        if (!job.status().equals("running")) {
            throw new SomaException(ErrorCode.CONFLICT, "Job %s is %s; only a running job can be cancelled".formatted(id, job.status()));
        }
        commit.execute(tx -> {
            tx.audit(new AuditEntry(Optional.of(tenant), principal.actor(), "workflow.job.cancel", id.toString(), requestId, Map.of()));
            return null;
        });
        WorkflowStub workflow = engine.get().client().newUntypedWorkflowStub(id.toString());
        workflow.cancel();

        return view(job(tenant, id));
    }

    /** Delivers the job's events after {@code after} until its terminal event. */
    public void follow(TenantId tenant, UUID id, int after, Consumer<JobEvent> sink) throws InterruptedException {
        job(tenant, id);
        events.follow(tenant, id, after, sink);
    }

    /** The signed provenance envelope of the tenant's completed job. */
    public Optional<String> provenance(TenantId tenant, UUID id) {
        return job(tenant, id).provenance();
    }

    /** The JSON answer of {@code GET /v1/jobs/{id}}: the job and every node's state. */
    Map<String, Object> view(JobStore.StoredJob job) {
        return view(job, store.nodes(job), store.runs(job.id()));
    }

    private static Map<String, Object> view(JobStore.StoredJob job, Map<String, JobStore.StoredNode> stored, List<JobStore.NodeRun> runs) {
        List<Map<String, Object>> nodes = new ArrayList<>();
        for (Team.Node spec : job.team().nodes()) {
            JobStore.StoredNode node = stored.get(spec.id());
            Map<String, Object> wire = new LinkedHashMap<>();
            wire.put("id", spec.id());
            wire.put("type", spec.approval() ? "approval" : "agent");
            wire.put("status", node.status());
            node.output().ifPresent(output -> wire.put("output", output));
            node.reason().ifPresent(reason -> wire.put("reason", reason));
            node.approval().ifPresent(approval -> wire.put("approval", approval));
            wire.put("runs", runs.stream().filter(run -> run.node().equals(spec.id()))
                    .map(run -> Map.of("run_id", run.runId().toString(), "item", run.item(), "attempt", run.attempt())).toList());
            node.startedAt().ifPresent(at -> wire.put("started_at", at.toString()));
            node.endedAt().ifPresent(at -> wire.put("ended_at", at.toString()));
            nodes.add(wire);
        }
        Map<String, Object> wire = new LinkedHashMap<>();
        wire.put("id", job.id().toString());
        wire.put("object", "workflow.job");
        wire.put("status", job.status());
        job.reason().ifPresent(reason -> wire.put("reason", reason));
        wire.put("input", job.input());
        wire.put("nodes", nodes);
        wire.put("created_at", job.createdAt().toString());
        job.endedAt().ifPresent(at -> wire.put("ended_at", at.toString()));
        wire.put("last_event_id", job.lastSeq());
        return wire;
    }
}
