package io.somastack.agents;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.internal.AgentLoader;
import io.somastack.agents.internal.AgentSpec;
import io.somastack.agents.internal.ConversationStore;
import io.somastack.agents.internal.EventLog;
import io.somastack.agents.internal.LiveRun;
import io.somastack.agents.internal.ModelStep;
import io.somastack.agents.internal.RunContext;
import io.somastack.agents.internal.RunStore;
import io.somastack.agents.internal.TenantSettings;
import io.somastack.agents.internal.TurnLoop;
import io.somastack.gateway.Principal;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.StorableText;
import io.somastack.kernel.TenantId;
import io.somastack.metering.Budgets;
import io.somastack.metering.Reservation;
import io.somastack.models.ChatMessage;
import io.somastack.models.ChatRequest;
import io.somastack.models.ToolChoice;
import io.somastack.policy.Actor;
import io.somastack.policy.Decision;
import io.somastack.policy.PolicyEngine;
import io.somastack.policy.PolicyTenant;
import io.somastack.policy.RuntimeInput;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.MDC;

/**
 * Starts runs and follows them. {@link #start} does what must hold before a run is accepted,
 * on the caller's thread, each refusal a problem: the agent is installed and runnable (404,
 * 410), the conversation is the tenant's (404), the input is not empty (400), a model is
 * served for it, runtime policy allows the run (403, recorded), and the capsule's
 * {@code max_budget_per_run_usd} is reserved against the tenant's and key's budgets (402). It
 * then stores the run and {@code run.started}, and the {@link TurnLoop} goes on on a thread
 * of its own, so a run goes on when its client leaves. Thread-safe.
 */
public final class Runs {
    private final AgentsConfig config;
    private final AgentLoader agents;
    private final ModelStep models;
    private final PolicyEngine policy;
    private final Budgets budgets;
    private final RunStore runs;
    private final ConversationStore conversations;
    private final EventLog events;
    private final TurnLoop loop;
    private final GroupCommit commit;
    private final Jdbi jdbi;
    private final Clock clock;
    private final Ids ids;
    private final String node;
    private final TenantSettings settings;
    private final Map<UUID, LiveRun> active = new ConcurrentHashMap<>();
    private volatile boolean accepting = true;

    Runs(AgentsConfig config, AgentLoader agents, ModelStep models, PolicyEngine policy, Budgets budgets, RunStore runs,
            ConversationStore conversations, EventLog events, TurnLoop loop, GroupCommit commit, Jdbi jdbi, Clock clock, Ids ids, String node) {
        this.config = requireNonNull(config, "config is null");
        this.agents = requireNonNull(agents, "agents is null");
        this.models = requireNonNull(models, "models is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.runs = requireNonNull(runs, "runs is null");
        this.conversations = requireNonNull(conversations, "conversations is null");
        this.events = requireNonNull(events, "events is null");
        this.loop = requireNonNull(loop, "loop is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.node = requireNonNull(node, "node is null");
        this.settings = new TenantSettings(jdbi, commit, clock);
    }

    /**
     * What a client asks: run {@code agent} (or the agent of {@code conversationId}) on
     * {@code input}; {@code toolChoice} constrains the first model call only. With
     * {@code newConversation}, the run starts a conversation with {@code agent}, stored with the
     * run (so a refused run leaves none). {@code continues} is the run the client named as the one
     * this run continues (the Responses API's {@code previous_response_id}), recorded with the run.
     */
    public record StartRun(Optional<String> agent, Optional<UUID> conversationId, String input, Optional<ToolChoice> toolChoice,
            boolean newConversation, Optional<UUID> continues) {
        public StartRun {
            requireNonNull(continues, "continues is null");
            requireNonNull(agent, "agent is null");
            requireNonNull(conversationId, "conversationId is null");
            if (newConversation && (agent.isEmpty() || conversationId.isPresent())) {
                throw new IllegalArgumentException("a new conversation needs an agent and no conversation id");
            }
            requireNonNull(input, "input is null");
            requireNonNull(toolChoice, "toolChoice is null");
        }

        public StartRun(Optional<String> agent, Optional<UUID> conversationId, String input, Optional<ToolChoice> toolChoice,
                boolean newConversation) {
            this(agent, conversationId, input, toolChoice, newConversation, Optional.empty());
        }

        public StartRun(Optional<String> agent, Optional<UUID> conversationId, String input, Optional<ToolChoice> toolChoice) {
            this(agent, conversationId, input, toolChoice, false);
        }
    }

    /**
     * A run accepted and under way: its id and {@code run.started} (sequence 1); {@code replayed}
     * when it is the run an earlier request with the same {@code Idempotency-Key} started.
     */
    public record Started(UUID runId, StoredEvent started, boolean replayed) {
        public Started(UUID runId, StoredEvent started) {
            this(runId, started, false);
        }
    }

    /**
     * A request's {@code Idempotency-Key} and its fingerprint (what identifies the request: its
     * route and the SHA-256 of its body), so that a retry finds the first run.
     */
    public record RunKey(String key, String fingerprint) {
        public RunKey {
            requireNonNull(key, "key is null");
            requireNonNull(fingerprint, "fingerprint is null");
        }
    }

    /** Accepts a run and starts its loop; every refusal before that is a {@link SomaException}. */
    public Started start(Principal principal, String requestId, StartRun command) {
        return start(principal, requestId, command, Optional.empty());
    }

    /**
     * As {@link #start(Principal, String, StartRun)}; with a {@code key} already used by this
     * tenant, answers the run the first request started (never a second run), or 409
     * {@code idempotency-key-reused} when the key came with another request. Two concurrent
     * requests with one key start one run (a unique index decides).
     */
    public Started start(Principal principal, String requestId, StartRun command, Optional<RunKey> key) {
        Optional<Started> first = key.flatMap(wanted -> replay(principal.tenant().id(), wanted));
        if (first.isPresent()) {
            return first.get();
        }
        return start(principal, requestId, command, key, ids.next());
    }

    /**
     * As {@link #start(Principal, String, StartRun)}, under a run id the caller chose (a workflow node
     * derives it from its job, node and attempt, so that a retried start finds its run instead of
     * making a second one). A run id already stored is a {@link ErrorCode#CONFLICT}.
     */
    public Started start(Principal principal, String requestId, StartRun command, UUID runId) {
        return start(principal, requestId, command, Optional.empty(), runId);
    }

    private Started start(Principal principal, String requestId, StartRun command, Optional<RunKey> key, UUID runId) {
        requireNonNull(runId, "runId is null");
        if (!accepting) {
            throw new SomaException(ErrorCode.NOT_READY, "This node is shutting down; retry on another");
        }
        TenantId tenant = principal.tenant().id();
        String input = command.input();
        if (input.isBlank()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "input is empty; send the text the agent should answer");
        }
        if (input.length() > config.maxInputChars()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "input has %d characters; the limit is %d (agents.max-input-chars)"
                    .formatted(input.length(), config.maxInputChars()), Map.of("length", input.length(), "limit", config.maxInputChars()));
        }
        StorableText.require("input", input);
        Optional<Conversation> existing = command.conversationId().map(id -> conversations.find(tenant, id)
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No conversation %s in this tenant".formatted(id))));
        String name = existing.map(Conversation::agent).or(command::agent).orElseThrow();
        Set<String> restriction = principal.agentRestriction();
        if (!restriction.isEmpty() && !restriction.contains(name)) {
            throw new SomaException(ErrorCode.INSUFFICIENT_SCOPE, "This key is restricted to agents %s and may not run %s".formatted(restriction, name));
        }
        AgentSpec agent = agents.runnable(tenant, name);
        String model = model(agent);
        models.checkContext(firstRequest(agent, existing, input, model));
        // The decision goes on record exactly once: with the run when it starts (no commit of its own), else alone.
        PolicyEngine.Judgement judgement = policy.judge(new PolicyTenant(tenant, principal.tenant().tier()), new RuntimeInput(
                Map.of("kind", "agent_run", "request_id", requestId), callerValue(principal), agent.manifest().document(), Map.of(),
                Map.of("id", model)), new Actor(principal.actor(), requestId));
        Decision decision = judgement.decision();
        if (decision instanceof Decision.Denied denied) {
            policy.record(judgement);
            throw new SomaException(ErrorCode.POLICY_DENIED, "A run of %s was denied by policy %s: %s".formatted(name,
                    denied.violation().policyName(), denied.violation().message()),
                    Map.of("decision_id", denied.decisionId().toString(), "policy", denied.violation().policyName()));
        }
        Money budget = agent.maxBudgetPerRun();
        Reservation reservation;
        try {
            if (runs.find(tenant, runId).isPresent()) {
                throw new SomaException(ErrorCode.CONFLICT, "Run %s already exists".formatted(runId));
            }
            reservation = budgets.reserve(tenant, principal.keyId(), principal.tenant().monthlyBudget(), principal.keyBudget(), budget);
        } catch (RuntimeException e) {
            policy.record(judgement);
            throw e;
        }
        Instant now = clock.now();
        LiveRun live = new LiveRun(runId, tenant);
        Optional<Conversation> conversation = command.newConversation()
                ? Optional.of(new Conversation(ids.next(), tenant, name, Map.of(), now, List.of()))
                : existing;
        StoredEvent started;
        EventLog.Next first = events.next(live);
        try {
            started = commit.execute(tx -> {
                policy.record(tx, judgement);
                if (command.newConversation()) {
                    UUID created = conversation.orElseThrow().id();
                    conversations.insert(tx, created, tenant, name, Map.of(), now, principal.actor());
                    tx.audit(new AuditEntry(Optional.of(tenant), principal.actor(), "agent.conversation.create", created.toString(), requestId,
                            Map.of("agent", name)));
                }
                runs.insert(tx, new RunStore.NewRun(runId, tenant, conversation.map(Conversation::id), name, agent.installed().version(),
                        agent.installed().digest(), input, budget, reservation, principal.keyId(), principal.actor(), requestId, node, now,
                        key.map(RunKey::key), key.map(RunKey::fingerprint), command.continues()));
                return events.insert(tx, live, first, new RunEvent.Started(runId, name, agent.installed().version(),
                        conversation.map(Conversation::id), model)).getLast();
            });
        } catch (RuntimeException e) {
            budgets.release(reservation);
            events.lost(live, first);
            policy.record(judgement);
            // A concurrent request with the same key stored its run first: answer that one.
            Optional<Started> twin = key.flatMap(wanted -> replay(tenant, wanted));
            if (twin.isPresent()) {
                return twin.get();
            }
            throw e;
        }
        live.publish(started);
        active.put(runId, live);
        int maxSteps = Math.min(config.maxSteps(), agent.limits().getOrDefault("max_steps", Integer.MAX_VALUE));
        int maxToolCalls = Math.min(config.maxToolCalls(), agent.limits().getOrDefault("max_tool_calls", Integer.MAX_VALUE));
        Duration wall = config.maxWallTime();
        if (agent.limits().containsKey("max_wall_seconds")) {
            wall = min(wall, Duration.ofSeconds(agent.limits().get("max_wall_seconds")));
        }
        RunContext context = new RunContext(live, principal, requestId, agent, conversation, input, command.toolChoice(), model,
                decision.decisionId(), reservation, budget, maxSteps, maxToolCalls, now.plus(wall), now, System.nanoTime());
        Map<String, String> logContext = Optional.ofNullable(MDC.getCopyOfContextMap()).orElse(Map.of());
        Thread.ofVirtual().name("run-" + runId).start(() -> {
            MDC.setContextMap(logContext);
            MDC.put("tenant_id", tenant.toString());
            MDC.put("run_id", runId.toString());
            try {
                loop.run(context);
            } finally {
                active.remove(runId);
                MDC.clear();
            }
        });
        return new Started(runId, started);
    }

    /** The run the tenant started with {@code key}, if any; 409 when the key came with another request. */
    private Optional<Started> replay(TenantId tenant, RunKey key) {
        return runs.findByKey(tenant, key.key()).map(keyed -> {
            if (!keyed.fingerprint().equals(key.fingerprint())) {
                throw new SomaException(ErrorCode.IDEMPOTENCY_KEY_REUSED, "Idempotency-Key '%s' already started run %s with a different request"
                        .formatted(key.key(), keyed.runId()), Map.of("run_id", keyed.runId().toString()));
            }
            return new Started(keyed.runId(), events.read(tenant, keyed.runId(), 0, 1).getFirst(), true);
        });
    }

    /**
     * What the first model call will at least hold: the system prompt, the conversation so far and
     * the input (recalled facts and tool definitions come later and may only add).
     */
    private static ChatRequest firstRequest(AgentSpec agent, Optional<Conversation> conversation, String input, String model) {
        List<ChatMessage> messages = new ArrayList<>();
        agent.systemPrompt().filter(system -> !system.isEmpty()).ifPresent(system -> messages.add(ChatMessage.of("system", system)));
        conversation.ifPresent(existing -> existing.messages().forEach(message -> messages.add(ChatMessage.of(message.role(), message.content()))));
        messages.add(ChatMessage.of("user", input));
        return ChatRequest.of(model, messages);
    }

    /** The first of the capsule's {@code model.preferred} that this server routes, else {@code agents.default-model}. */
    private String model(AgentSpec agent) {
        for (String preferred : agent.preferredModels()) {
            if (models.knows(preferred)) {
                return preferred;
            }
        }
        return config.defaultModel().filter(models::knows).orElseThrow(() -> new SomaException(ErrorCode.UNKNOWN_MODEL,
                "%s prefers models %s, none of which this server routes, and agents.default-model is %s".formatted(agent.installed().name(),
                        agent.preferredModels(), config.defaultModel().map(alias -> "'" + alias + "', which it does not route either").orElse("not set"))));
    }

    private static Map<String, Object> callerValue(Principal principal) {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("key_id", principal.keyId().toString());
        value.put("actor", principal.actor());
        value.put("scopes", principal.scopes().stream().sorted().toList());
        return value;
    }

    public Optional<Run> find(TenantId tenant, UUID runId) {
        return runs.find(tenant, runId);
    }

    /** The run the tenant's run continues, when its client named one (the Responses API's {@code previous_response_id}). */
    public Optional<UUID> continues(TenantId tenant, UUID runId) {
        return runs.continues(tenant, runId);
    }

    /** The tenant's run, or 404 (also for another tenant's run). */
    public Run require(TenantId tenant, UUID runId) {
        return find(tenant, runId).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No run %s in this tenant".formatted(runId)));
    }

    /**
     * Delivers the run's events after {@code seq} to {@code sink}, in order, as they are stored,
     * until the terminal event has been delivered. Returns early when {@code sink} throws (the
     * client left).
     */
    public void follow(TenantId tenant, UUID runId, int seq, Consumer<StoredEvent> sink) throws InterruptedException {
        follow(tenant, runId, seq, sink, true);
    }

    /**
     * As {@link #follow}, for a client that waits for the end (a JSON answer) rather than watching
     * the run: its deltas are not stored one by one for it, but with the run's next stored event,
     * so they may come in bursts.
     */
    public void awaitEnd(TenantId tenant, UUID runId, int seq, Consumer<StoredEvent> sink) throws InterruptedException {
        follow(tenant, runId, seq, sink, false);
    }

    private void follow(TenantId tenant, UUID runId, int seq, Consumer<StoredEvent> sink, boolean streams) throws InterruptedException {
        int last = seq;
        LiveRun streamed = null;
        try {
            while (true) {
                LiveRun live = active.get(runId);
                List<StoredEvent> next;
                if (live != null && live.tenant().equals(tenant) && !live.ended()) {
                    if (streams && streamed == null) {
                        // From now on the run's deltas are stored and sent as they come; those deferred so far go out first.
                        streamed = live;
                        live.streamerCame();
                        events.flush(live);
                    }
                    next = live.after(last, Duration.ofSeconds(1));
                } else {
                    next = events.read(tenant, runId, last, 500);
                    if (next.isEmpty()) {
                        Optional<Run> run = runs.find(tenant, runId);
                        if (run.isEmpty() || run.get().status() != RunStatus.RUNNING && run.get().lastSeq() <= last) {
                            return;
                        }
                        Thread.sleep(200);
                    }
                }
                for (StoredEvent event : next) {
                    sink.accept(event);
                    last = event.seq();
                    if (event.terminal()) {
                        return;
                    }
                }
            }
        } finally {
            if (streamed != null) {
                streamed.streamerGone();
            }
        }
    }

    /** Every event stored so far for the tenant's run, in order. */
    public List<StoredEvent> stored(TenantId tenant, UUID runId) {
        List<StoredEvent> all = new ArrayList<>();
        while (true) {
            List<StoredEvent> next = events.read(tenant, runId, all.isEmpty() ? 0 : all.getLast().seq(), 500);
            all.addAll(next);
            if (next.size() < 500) {
                return all;
            }
        }
    }

    /**
     * Asks the tenant's run to stop; {@code by} says who asked. A run on this node is told at
     * once; a run on another node gets the request stored on its row (durable), whose trigger
     * notifies that node, which stops it ({@link #cancelRequested}). False when the run is not
     * running (it ended, or it is not the tenant's).
     */
    public boolean cancel(TenantId tenant, UUID runId, String by) {
        LiveRun live = active.get(runId);
        if (live != null && live.tenant().equals(tenant)) {
            live.cancel(by);
            return true;
        }
        Instant at = clock.now();
        return commit.execute(tx -> runs.requestCancel(tx, tenant, runId, by, at));
    }

    /**
     * A cancel request stored for {@code runId} (a notification, payload {@code "<run id> <by>"}):
     * stops the run when this node runs it.
     */
    void cancelRequested(String payload) {
        int space = payload.indexOf(' ');
        UUID runId;
        try {
            runId = UUID.fromString(space < 0 ? payload : payload.substring(0, space));
        } catch (IllegalArgumentException e) {
            return;
        }
        LiveRun live = active.get(runId);
        if (live != null) {
            live.cancel(space < 0 ? "client" : payload.substring(space + 1));
        }
    }

    /**
     * Stops this node's runs with a stored cancel request: the backstop for a notification
     * missed while the listening connection was down. Returns how many it stopped.
     */
    int cancelRequested() {
        Map<UUID, String> requests = runs.cancelRequests(active.keySet());
        requests.forEach((runId, by) -> Optional.ofNullable(active.get(runId)).ifPresent(live -> live.cancel(by)));
        return requests.size();
    }

    /**
     * A DSSE envelope of an in-toto {@code statement} signed with the same long-lived provenance
     * keys as a run's answer (a team job's provenance uses it), so one JWKS verifies both.
     */
    public String signProvenance(byte[] statement) {
        return loop.envelope(requireNonNull(statement, "statement is null"));
    }

    /** The signed provenance envelope of the tenant's completed run. */
    public Optional<String> provenance(TenantId tenant, UUID runId) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT envelope FROM agent_provenance WHERE tenant_id = :tenant AND run_id = :run")
                .bind("tenant", tenant.value()).bind("run", runId).mapTo(String.class).findOne());
    }

    Jdbi jdbi() {
        return jdbi;
    }

    TenantSettings settings() {
        return settings;
    }

    /** The ids of the runs this node is running (the heartbeat marks them alive). */
    public Set<UUID> activeIds() {
        return Set.copyOf(active.keySet());
    }

    /** Stops accepting runs, cancels those under way and waits up to {@code grace} for them to end. */
    void drain(Duration grace) {
        accepting = false;
        active.values().forEach(live -> live.cancel("server"));
        long deadline = System.nanoTime() + grace.toNanos();
        while (!active.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
