package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.AgentsConfig;
import io.somastack.agents.AnswerProvenance;
import io.somastack.agents.Conversation;
import io.somastack.agents.RunEvent;
import io.somastack.agents.RunStatus;
import io.somastack.agents.RunTotals;
import io.somastack.agents.StoredEvent;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.marketplace.RunRecords;
import io.somastack.memory.Caller;
import io.somastack.memory.Fact;
import io.somastack.memory.Memories;
import io.somastack.memory.Recall;
import io.somastack.memory.RecallMode;
import io.somastack.memory.RecallQuery;
import io.somastack.memory.Scope;
import io.somastack.metering.Budgets;
import io.somastack.metering.CapsuleCharges;
import io.somastack.metering.PriceBook;
import io.somastack.models.ChatMessage;
import io.somastack.models.ChatRequest;
import io.somastack.models.StreamSink;
import io.somastack.models.ToolCall;
import io.somastack.models.ToolChoice;
import io.somastack.models.ToolDefinition;
import io.somastack.store.GroupCommit;
import io.somastack.store.Tx;
import io.somastack.tools.FailureReason;
import io.somastack.tools.ToolBroker;
import io.somastack.tools.ToolCaller;
import io.somastack.tools.ToolEvent;
import io.somastack.tools.ToolResult;
import io.somastack.tools.ToolSink;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * The loop of one run, after it was accepted (the agent runnable, policy allowed it, its budget
 * reserved, {@code run.started} stored): recall from the capsule's memory scopes, then model
 * calls offering the capsule's tools (and the built-in {@code remember}, see {@link Remembering}),
 * each tool call through the {@link ToolBroker} with its result back to the model, until an answer or a limit (steps, tool calls, wall time, budget)
 * or a cancellation. Then settle the reservation with what the run used, write the run's row,
 * messages and signed provenance, the marketplace's run record, and the terminal event last.
 * One instance serves every run; each run runs on its own (virtual) thread.
 */
public final class TurnLoop {
    private static final Logger LOG = LoggerFactory.getLogger(TurnLoop.class);

    private final AgentsConfig config;
    private final ModelStep models;
    private final ToolBroker broker;
    private final PriceBook toolPrices;
    private final Memories memories;
    private final Remembering remembering;
    private final EventLog events;
    private final RunStore runs;
    private final ConversationStore conversations;
    private final Budgets budgets;
    private final RunRecords runRecords;
    private final CapsuleCharges capsuleCharges;
    private final ProvenanceKeys signer;
    private final GroupCommit commit;
    private final RunMetrics metrics;
    private final Clock clock;
    private final Ids ids;

    public TurnLoop(AgentsConfig config, ModelStep models, ToolBroker broker, PriceBook toolPrices, Memories memories, EventLog events,
            RunStore runs, ConversationStore conversations, Budgets budgets, RunRecords runRecords, CapsuleCharges capsuleCharges,
            ProvenanceKeys signer, GroupCommit commit, RunMetrics metrics, Clock clock, Ids ids) {
        this.config = requireNonNull(config, "config is null");
        this.models = requireNonNull(models, "models is null");
        this.broker = requireNonNull(broker, "broker is null");
        this.toolPrices = requireNonNull(toolPrices, "toolPrices is null");
        this.memories = requireNonNull(memories, "memories is null");
        this.remembering = new Remembering(memories, clock);
        this.events = requireNonNull(events, "events is null");
        this.runs = requireNonNull(runs, "runs is null");
        this.conversations = requireNonNull(conversations, "conversations is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.runRecords = requireNonNull(runRecords, "runRecords is null");
        this.capsuleCharges = requireNonNull(capsuleCharges, "capsuleCharges is null");
        this.signer = requireNonNull(signer, "signer is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    /** Why a run stops before its answer: a reason (the {@code run.failed} wire value), a message and details. */
    private static final class Stop extends RuntimeException {
        private final String reason;
        private final transient Map<String, Object> detail;

        Stop(String reason, String message, Map<String, Object> detail) {
            super(message, null, false, false);
            this.reason = reason;
            this.detail = Map.copyOf(detail);
        }

        Stop(String reason, String message) {
            this(reason, message, Map.of());
        }
    }

    /** The mutable state of one run, confined to its thread (tool deltas may arrive on a sandbox thread, and only append events). */
    private final class State {
        final RunContext run;
        final ProvenanceTrail trail;
        final ToolCaller toolCaller;
        RunTotals totals = RunTotals.NONE;
        int step;
        int invalidArguments;

        State(RunContext run) {
            this.run = run;
            this.trail = new ProvenanceTrail(run.runId(), run.principal().tenant().id().toString(), run.agent().installed().name(),
                    run.agent().installed().version(), run.agent().installed().digest(), run.startedAt());
            // The run's reservation covers its tool calls: the broker reserves nothing more against the same budgets.
            this.toolCaller = new ToolCaller(run.principal().tenant().id(), run.principal().tenant().tier(), run.principal().keyId(),
                    run.principal().scopes(), Optional.empty(), Optional.empty(), run.principal().actor(), run.runId().toString());
        }

        Money remaining() {
            return run.budget().minus(totals.cost());
        }

        StoredEvent emit(RunEvent event) {
            return events.append(run.live(), event);
        }
    }

    /** Runs the loop to its end; never throws. */
    public void run(RunContext run) {
        State state = new State(run);
        state.trail.decision(run.policyDecisionId(), "agent_run", run.agent().installed().name(), "allowed");
        try {
            String answer = loop(state);
            complete(state, answer);
        } catch (Stop stop) {
            if (stop.reason.equals("cancelled")) {
                end(state, RunStatus.CANCELLED, "cancelled", run.live().cancelledBy().orElse("client"), Map.of());
            } else {
                end(state, RunStatus.FAILED, stop.reason, stop.getMessage(), stop.detail);
            }
        } catch (SomaException e) {
            String reason = switch (e.code()) {
                case CAPSULE_REVOKED -> "capsule_revoked";
                case BUDGET_EXHAUSTED -> "budget";
                case UPSTREAM_ERROR, UPSTREAM_UNAVAILABLE -> "model_error";
                case INVALID_REQUEST -> "invalid_request";
                default -> "error";
            };
            end(state, RunStatus.FAILED, reason, e.detail(), e.extensions());
        } catch (RuntimeException e) {
            LOG.error("Run {} failed unexpectedly", run.runId(), e);
            end(state, RunStatus.FAILED, "error", "The run failed unexpectedly; see the server log for run " + run.runId(), Map.of());
        }
    }

    private String loop(State state) {
        RunContext run = state.run;
        List<ToolDefinition> tools = tools(state);
        List<ChatMessage> messages = new ArrayList<>();
        String system = run.agent().systemPrompt().orElse("");
        String facts = recall(state);
        if (!facts.isEmpty()) {
            system = (system.isEmpty() ? "" : system + "\n\n") + facts;
        }
        if (!system.isEmpty()) {
            messages.add(ChatMessage.of("system", system));
        }
        run.conversation().ifPresent(conversation -> conversation.messages()
                .forEach(message -> messages.add(ChatMessage.of(message.role(), message.content()))));
        messages.add(ChatMessage.of("user", run.input()));
        while (true) {
            checkGoing(state);
            if (state.step >= run.maxSteps()) {
                throw new Stop("max_steps", "The model asked for more than %d steps (tool calls: %d); the run stopped"
                        .formatted(run.maxSteps(), state.totals.toolCalls()), Map.of("max_steps", run.maxSteps()));
            }
            int step = ++state.step;
            Optional<ToolChoice> choice = tools.isEmpty() ? Optional.empty()
                    : step == 1 && run.firstToolChoice().isPresent() ? run.firstToolChoice() : Optional.of(ToolChoice.AUTO);
            ChatRequest request = new ChatRequest(run.model(), messages, true, null, config.maxOutputTokens(), null, null, null, null, null,
                    tools.isEmpty() ? null : tools, choice.orElse(null), null, null, null, null, null, null, null, null);
            Money worstCase = models.worstCase(request);
            if (worstCase.compareTo(state.remaining()) > 0) {
                throw new Stop("budget", "Step %d may cost up to %s; %s of the run's budget of %s is left".formatted(step, worstCase.toPlainString(),
                        state.remaining().toPlainString(), run.budget().toPlainString()), Map.of("budget", run.budget().toPlainString()));
            }
            StreamSink sink = chunk -> {
                if (chunk.delta() != null && chunk.delta().content() != null && !chunk.delta().content().isEmpty()) {
                    state.emit(new RunEvent.ModelDelta(step, chunk.delta().content()));
                }
                return going(state);
            };
            // model.completed (and the step's deltas nobody streamed) go into the ledger row's transaction: one commit per step.
            EventLog.Next[] next = new EventLog.Next[1];
            List<StoredEvent> completed = new ArrayList<>();
            ModelStep.Metered metered;
            try {
                metered = models.stream(run.principal(), run.runId(), run.reservation().id(), run.agent().installed().name(), request, sink,
                        (tx, billed) -> {
                    if (next[0] == null) {
                        next[0] = events.next(run.live());
                    }
                    completed.clear();
                    completed.addAll(events.insert(tx, run.live(), next[0], modelCompleted(run, step, billed)));
                });
            } catch (RuntimeException e) {
                if (next[0] != null) {
                    events.lost(run.live(), next[0]);
                }
                throw e;
            }
            run.live().publish(completed);
            var result = metered.result();
            state.totals = state.totals.plusModelCall(result.usage().inputTokens(), result.usage().outputTokens(), metered.cost());
            state.trail.modelCall(metered.ledgerId(), run.model(), result.provider(), result.model(), result.usage().inputTokens(),
                    result.usage().outputTokens(), metered.cost());
            ChatMessage message = result.completion().message();
            metrics.tokens(run.agent().installed().name(), result.usage().inputTokens(), result.usage().outputTokens());
            checkGoing(state);
            if (!message.hasToolCalls()) {
                return message.text();
            }
            messages.add(ChatMessage.assistantToolCalls(message.toolCalls()));
            for (ToolCall call : message.toolCalls()) {
                messages.add(ChatMessage.toolResult(call.id(), callTool(state, step, call)));
            }
        }
    }

    private static RunEvent.ModelCompleted modelCompleted(RunContext run, int step, ModelStep.Metered metered) {
        var result = metered.result();
        String finish = result.clientGone() ? "stopped" : Optional.ofNullable(result.completion().finishReason()).orElse("stop");
        return new RunEvent.ModelCompleted(step, metered.ledgerId(), run.model(), result.provider(), result.usage().inputTokens(),
                result.usage().outputTokens(), metered.cost(), finish);
    }

    /**
     * The capsule's tools, all of them or the run fails: the model is never called without the tools the capsule declares; then
     * the built-in {@code remember} when the manifest grants a memory scope to write.
     */
    private List<ToolDefinition> tools(State state) {
        AgentSpec agent = state.run.agent();
        List<ToolDefinition> definitions = new ArrayList<>(declaredTools(state));
        if (Remembering.offered(agent)) {
            definitions.add(Remembering.definition(agent));
        }
        return definitions;
    }

    private List<ToolDefinition> declaredTools(State state) {
        AgentSpec agent = state.run.agent();
        if (!agent.declaresTools()) {
            return List.of();
        }
        List<ToolBroker.ToolInfo> tools;
        try {
            tools = broker.tools(state.toolCaller, agent.installed().name());
        } catch (SomaException e) {
            if (e.code() == ErrorCode.CAPSULE_REVOKED) {
                throw e;
            }
            throw new Stop("tools_unresolved", "The tools %s declares cannot be resolved: %s".formatted(agent.installed().name(), e.detail()));
        }
        List<String> missing = agent.manifest().tools().stream().map(tool -> tool.name())
                .filter(name -> tools.stream().noneMatch(tool -> tool.name().equals(name))).toList();
        if (!missing.isEmpty()) {
            throw new Stop("tools_unresolved", "The tools %s of %s cannot be resolved".formatted(missing, agent.installed().name()));
        }
        return tools.stream().map(tool -> ToolDefinition.function(tool.name(), tool.description(), tool.inputSchema())).toList();
    }

    /** Recalls from the capsule's memory scopes; returns the facts as the prompt cites them, or nothing. */
    private String recall(State state) {
        RunContext run = state.run;
        List<Scope> scopes = new ArrayList<>();
        for (String kind : run.agent().memoryScopes()) {
            Remembering.scope(run, kind).ifPresent(scopes::add);
        }
        if (scopes.isEmpty()) {
            return "";
        }
        Caller caller = Remembering.caller(run);
        List<Scope> readable = scopes.stream().filter(caller::mayRead).toList();
        if (readable.isEmpty()) {
            return "";
        }
        Recall recall = memories.recall(caller, RecallQuery.of(run.input(), readable, config.recallK(), RecallMode.HYBRID));
        List<Map<String, Object>> facts = new ArrayList<>();
        StringBuilder cited = new StringBuilder();
        int index = 1;
        for (Fact fact : recall.facts()) {
            Map<String, Object> wire = new LinkedHashMap<>();
            wire.put("index", index);
            wire.put("memory_id", fact.memoryId().toString());
            wire.put("revision_id", fact.revisionId().toString());
            wire.put("text", fact.text());
            wire.put("scope", fact.scope().key());
            wire.put("score", fact.score());
            Map<String, Object> provenance = new LinkedHashMap<>();
            provenance.put("kind", fact.provenance().kind().wireName());
            fact.provenance().reference().ifPresent(reference -> provenance.put("reference", reference));
            fact.provenance().author().ifPresent(author -> provenance.put("author", author));
            fact.provenance().observedAt().ifPresent(at -> provenance.put("observed_at", at.toString()));
            wire.put("provenance", provenance);
            facts.add(wire);
            cited.append('[').append(index++).append("] ").append(fact.text()).append('\n');
        }
        state.trail.recall(recall.id(), recall.facts().stream().map(Fact::revisionId).toList());
        state.emit(new RunEvent.MemoryRecalled(recall.id(), facts));
        return facts.isEmpty() ? "" : "Facts you may use; cite them as [n]:\n" + cited;
    }

    /** One tool call through the broker; returns what goes back to the model. */
    private String callTool(State state, int step, ToolCall call) {
        RunContext run = state.run;
        checkGoing(state);
        if (state.totals.toolCalls() >= run.maxToolCalls()) {
            throw new Stop("max_tool_calls", "The model asked for more than %d tool calls; the run stopped".formatted(run.maxToolCalls()),
                    Map.of("max_tool_calls", run.maxToolCalls()));
        }
        String name = call.function() == null ? "" : call.function().name();
        JsonNode arguments;
        try {
            String text = call.function() == null || call.function().arguments() == null || call.function().arguments().isBlank() ? "{}"
                    : call.function().arguments();
            arguments = Json.tree(text.getBytes(StandardCharsets.UTF_8));
        } catch (SomaException e) {
            return invalidArguments(state, name, List.of(Map.of("pointer", "", "message", "the arguments are not JSON: " + e.detail())));
        }
        if (name.equals(Remembering.TOOL) && Remembering.offered(run.agent())) {
            return remember(state, step, call, arguments);
        }
        String kind = run.agent().manifest().tools().stream().filter(tool -> tool.name().equals(name)).map(tool -> tool.executor())
                .findFirst().orElse("");
        Money price = toolPrices.toolPrice(run.agent().installed().name(), name, kind, clock.now()).map(PriceBook.ToolPrice::perCall)
                .orElse(Money.ZERO);
        if (price.compareTo(state.remaining()) > 0) {
            throw new Stop("budget", "Tool %s costs %s; %s of the run's budget of %s is left".formatted(name, price.toPlainString(),
                    state.remaining().toPlainString(), run.budget().toPlainString()), Map.of("budget", run.budget().toPlainString()));
        }
        ToolSink sink = event -> state.emit(switch (event) {
            case ToolEvent.Started started -> new RunEvent.ToolStarted(step, started.callId(), started.tool(), started.executor(), arguments);
            case ToolEvent.Delta delta -> new RunEvent.ToolDelta(step, delta.callId(), delta.index(), delta.text());
            case ToolEvent.Completed completed -> new RunEvent.ToolCompleted(step, completed);
            case ToolEvent.Failed failed -> new RunEvent.ToolFailed(step, failed);
        });
        ToolResult result;
        try {
            result = broker.call(state.toolCaller, run.agent().installed(), name, arguments, sink, run.live().toolCallStarted());
        } catch (SomaException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                state.totals = state.totals.plusToolCall(Money.ZERO);
                return Json.text(Map.of("error", e.detail()));
            }
            throw e;
        } finally {
            run.live().toolCallEnded();
        }
        state.totals = state.totals.plusToolCall(switch (result) {
            case ToolResult.Completed completed -> completed.cost();
            case ToolResult.Failed failed -> failed.cost();
        });
        return switch (result) {
            case ToolResult.Completed completed -> {
                state.trail.toolCall(completed.callId(), name, completed.call().executor(), completed.call().argumentsSha256(),
                        Optional.of(completed.resultSha256()), "completed", Optional.of(completed.decisionId()), Optional.of(completed.ledgerId()));
                yield Json.text(completed.result());
            }
            case ToolResult.Failed failed -> {
                state.trail.toolCall(failed.callId(), name, failed.call().executor(), failed.call().argumentsSha256(), Optional.empty(),
                        failed.reason().wire(), failed.decisionId(), failed.ledgerId());
                if (failed.reason() == FailureReason.DENIED && failed.decisionId().isPresent()) {
                    state.emit(new RunEvent.PolicyDenied(failed.decisionId().get(), "tool:" + name, failed.message()));
                }
                if (failed.reason() == FailureReason.INVALID_ARGUMENTS) {
                    yield invalidArguments(state, name, failed.errors().stream()
                            .map(error -> Map.<String, Object>of("pointer", error.pointer(), "message", error.message())).toList());
                }
                yield Json.text(Map.of("error", failed.message(), "reason", failed.reason().wire()));
            }
        };
    }

    /** The built-in {@code remember}: a stored fact is a {@code memory.remembered} event and part of the provenance; a refusal goes back to the model. */
    private String remember(State state, int step, ToolCall call, JsonNode arguments) {
        state.totals = state.totals.plusToolCall(Money.ZERO);
        String callId = call.id() == null ? "" : call.id();
        return switch (remembering.remember(state.run, arguments)) {
            case Remembering.Stored stored -> {
                String outcome = stored.remembered().outcome().name().toLowerCase(Locale.ROOT);
                state.trail.memoryWrite(callId, stored.remembered().memoryId(), stored.remembered().revisionId(), stored.scope().key(), outcome);
                state.emit(new RunEvent.MemoryRemembered(step, callId, stored.remembered().memoryId(), stored.remembered().revisionId(),
                        stored.scope().key(), outcome));
                yield Json.text(Map.of("memory_id", stored.remembered().memoryId().toString(), "revision_id",
                        stored.remembered().revisionId().toString(), "scope", stored.scope().key(), "outcome", outcome));
            }
            case Remembering.Refused refused -> Json.text(Map.of("error", refused.message(), "reason", refused.reason()));
            case Remembering.Invalid invalid -> invalidArguments(state, Remembering.TOOL, invalid.errors());
        };
    }

    /** Schema errors go back to the model once; the second time the run fails with them. */
    private String invalidArguments(State state, String tool, List<? extends Map<String, ?>> errors) {
        if (++state.invalidArguments > 1) {
            throw new Stop("invalid_arguments", "The model sent %s arguments that do not match its input schema again".formatted(tool),
                    Map.of("tool", tool, "errors", errors));
        }
        return Json.text(Map.of("error", "The arguments do not match the input schema of " + tool, "errors", errors));
    }

    private boolean going(State state) {
        return state.run.live().cancelledBy().isEmpty() && clock.now().isBefore(state.run.deadline());
    }

    private void checkGoing(State state) {
        if (state.run.live().cancelledBy().isPresent()) {
            throw new Stop("cancelled", "cancelled");
        }
        if (!clock.now().isBefore(state.run.deadline())) {
            throw new Stop("wall_time", "The run took longer than its wall time of %s".formatted(
                    Duration.between(state.run.startedAt(), state.run.deadline())));
        }
    }

    /** A DSSE envelope of {@code statement} signed with the active provenance key. */
    public String envelope(byte[] statement) {
        ProvenanceKeys.Signed signature = signer.sign(AnswerProvenance.pae(AnswerProvenance.PAYLOAD_TYPE, statement));
        return AnswerProvenance.envelope(statement, signature.keyId(), signature.signature());
    }

    /** Settles, writes the answer with its signed provenance, then {@code run.completed}. */
    private void complete(State state, String answer) {
        RunContext run = state.run;
        settle(state);
        Instant finished = clock.now();
        byte[] statement = Json.bytes(state.trail.statement(AnswerProvenance.sha256(answer), finished));
        String envelope = envelope(statement);
        UUID provenanceId = ids.next();
        Optional<RunRecords.Ranked> ranked = ranked(state, true);
        RunEvent.Completed completed = new RunEvent.Completed(answer, state.totals, provenanceId);
        // The run's row, messages, provenance, charge, run record and run.completed: one commit.
        finish(state, completed, tx -> {
            if (!runs.finish(tx, run.runId(), RunStatus.COMPLETED, Optional.of(answer), Optional.empty(), Optional.empty(), state.totals,
                    Optional.of(provenanceId), finished)) {
                return false;
            }
            tx.handle().createUpdate("""
                    INSERT INTO agent_provenance (id, run_id, tenant_id, envelope, created_at) VALUES (:id, :run, :tenant, :envelope, :at)""")
                    .bind("id", provenanceId).bind("run", run.runId()).bind("tenant", run.principal().tenant().id().value())
                    .bind("envelope", envelope).bind("at", java.sql.Timestamp.from(finished)).execute();
            run.conversation().ifPresent(conversation -> conversations.append(tx, run.principal().tenant().id(), conversation.id(),
                    run.runId(), run.input(), answer, finished));
            // A priced capsule (its manifest's price_sku) is charged for a completed run, with the run's completion.
            run.agent().manifest().priceSku().ifPresent(priceSku -> capsuleCharges.recordRun(tx, run.principal().tenant().id(),
                    run.agent().installed().name(), run.agent().manifest().publisher(), priceSku, run.runId().toString()));
            ranked.ifPresent(record -> runRecords.record(tx, record));
            return true;
        });
        metrics.ended(run.agent().installed().name(), "completed", "completed", state.totals, elapsed(run));
        LOG.info("Run {} of {} completed in {} steps, {} tool calls, cost {}", run.runId(), run.agent().installed().name(), state.totals.steps(),
                state.totals.toolCalls(), state.totals.cost().toPlainString());
    }

    /** Settles and ends a run without an answer: {@code run.failed} or {@code run.cancelled}. */
    private void end(State state, RunStatus status, String reason, String message, Map<String, Object> detail) {
        RunContext run = state.run;
        try {
            settle(state);
            Instant finished = clock.now();
            Optional<RunRecords.Ranked> ranked = ranked(state, false);
            RunEvent terminal = status == RunStatus.CANCELLED ? new RunEvent.Cancelled(message, state.totals)
                    : new RunEvent.Failed(reason, message, state.totals, detail);
            finish(state, terminal, tx -> {
                if (!runs.finish(tx, run.runId(), status, Optional.empty(), Optional.of(reason), Optional.of(message), state.totals,
                        Optional.empty(), finished)) {
                    return false;
                }
                ranked.ifPresent(record -> runRecords.record(tx, record));
                return true;
            });
        } catch (RuntimeException e) {
            // The sweeper ends the run from the ledger when this node cannot.
            LOG.error("Cannot end run {}; the sweeper will", run.runId(), e);
        }
        metrics.ended(run.agent().installed().name(), status.wire(), reason, state.totals, elapsed(run));
        LOG.info("Run {} of {} ended {} ({}): {}", run.runId(), run.agent().installed().name(), status.wire(), reason, message);
    }

    private void settle(State state) {
        try {
            budgets.settle(state.run.reservation(), state.totals.cost());
        } catch (RuntimeException e) {
            LOG.warn("Settling the reservation of run {} failed ({}); the budget sweeper settles it from the ledger", state.run.runId(),
                    e.getMessage());
        }
    }

    /** The marketplace's record of this run, or none when the capsule cannot be ranked any more (revoked mid-run). */
    private Optional<RunRecords.Ranked> ranked(State state, boolean success) {
        try {
            return Optional.of(runRecords.ranked(state.run.principal().tenant().id(), state.run.agent().installed().name(), elapsed(state.run),
                    state.totals.cost(), success));
        } catch (RuntimeException e) {
            LOG.info("No run record for run {}: {}", state.run.runId(), e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Ends the run in one durable commit: {@code writes} (false when the run had already ended,
     * the sweeper got there first) and the terminal event with any deferred deltas before it,
     * published once committed.
     */
    private void finish(State state, RunEvent terminal, Function<Tx, Boolean> writes) {
        LiveRun live = state.run.live();
        EventLog.Next next = events.next(live);
        List<StoredEvent> stored;
        try {
            stored = commit.execute(tx -> writes.apply(tx) ? events.insert(tx, live, next, terminal) : List.<StoredEvent>of());
        } catch (RuntimeException e) {
            events.lost(live, next);
            throw e;
        }
        if (stored.isEmpty()) {
            events.lost(live, next);
        } else {
            live.publish(stored);
        }
    }

    private static Duration elapsed(RunContext run) {
        return Duration.ofNanos(System.nanoTime() - run.startedNanos());
    }
}
