package io.somastack.tools;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.marketplace.Installed;
import io.somastack.marketplace.Installs;
import io.somastack.metering.Budgets;
import io.somastack.metering.Ledger;
import io.somastack.metering.PriceBook;
import io.somastack.metering.Reservation;
import io.somastack.policy.Decision;
import io.somastack.policy.PolicyEngine;
import io.somastack.policy.RuntimeInput;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.OutboxEvent;
import io.somastack.tools.internal.CapsuleLoader;
import io.somastack.tools.internal.CapsuleTools;
import io.somastack.tools.internal.Egress;
import io.somastack.tools.internal.Executor;
import io.somastack.tools.internal.Hashing;
import io.somastack.tools.internal.Outcome;
import io.somastack.tools.internal.ToolMetrics;
import io.somastack.tools.internal.ToolSpec;
import io.somastack.tools.internal.ArgumentsCheck;
import io.somastack.kernel.TenantId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * The one path of every tool call, from the direct route, the turn loop and {@code /mcp}
 * alike. In order: find the tool in the tenant's installed, runnable capsule (404, 410);
 * validate the arguments against its {@code input_schema} (a {@link FailureReason#INVALID_ARGUMENTS}
 * result listing every error with its JSON pointer); check the capsule declares the host as
 * egress; ask runtime policy ({@link PolicyEngine#authorize}: tool name, executor kind, target
 * host, SHA-256 of the arguments; a denial is a recorded decision and a {@link FailureReason#DENIED}
 * result); reserve the call's price against the tenant's and key's budgets (402); run it in its
 * executor's sandbox, streaming deltas; then write the ledger row (meter {@code tool_call}), the
 * audit entry and the {@code io.somastack.tool.called} event in one transaction, and settle.
 * Thread-safe.
 */
public final class ToolBroker {
    private static final Logger LOG = LoggerFactory.getLogger(ToolBroker.class);
    public static final String CALLED_EVENT = "io.somastack.tool.called";

    private final Installs installs;
    private final CapsuleLoader capsules;
    private final ArgumentsCheck arguments;
    private final PolicyEngine policy;
    private final Budgets budgets;
    private final Ledger ledger;
    private final PriceBook prices;
    private final GroupCommit commit;
    private final Map<String, Executor> executors;
    private final ToolSettings settings;
    private final ToolMetrics metrics;
    private final Clock clock;
    private final Ids ids;

    ToolBroker(Installs installs, CapsuleLoader capsules, ArgumentsCheck arguments, PolicyEngine policy, Budgets budgets, Ledger ledger,
            PriceBook prices, GroupCommit commit, Map<String, Executor> executors, ToolSettings settings, ToolMetrics metrics, Clock clock, Ids ids) {
        this.installs = requireNonNull(installs, "installs is null");
        this.capsules = requireNonNull(capsules, "capsules is null");
        this.arguments = requireNonNull(arguments, "arguments is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.ledger = requireNonNull(ledger, "ledger is null");
        this.prices = requireNonNull(prices, "prices is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.executors = Map.copyOf(executors);
        this.settings = requireNonNull(settings, "settings is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    /** A tool as callers see it (the turn loop offers these to the model; {@code /mcp} lists them). */
    public record ToolInfo(String capsule, String version, String name, String description, JsonNode inputSchema, String executor) {
    }

    /** The tools of {@code caller}'s installed, runnable capsule {@code capsule} (404, 410). */
    public List<ToolInfo> tools(ToolCaller caller, String capsule) {
        return infos(capsules.load(installs.runnable(caller.tenant(), capsule)));
    }

    /** Every tool of the tenant's installed, runnable capsules; a capsule that cannot be read is left out (and logged). */
    public List<ToolInfo> installed(TenantId tenant) {
        List<ToolInfo> all = new ArrayList<>();
        for (CapsuleTools tools : runnable(tenant)) {
            all.addAll(infos(tools));
        }
        return all;
    }

    /**
     * The tools {@code caller} may call: of the tenant's runnable capsules, those whose declared egress
     * holds and that runtime policy would allow, asked without recording a decision and with the
     * facts of a call ({@code tool.arguments_sha256} empty). Each call is still authorized on record.
     */
    public List<ToolInfo> callable(ToolCaller caller) {
        List<ToolInfo> callable = new ArrayList<>();
        for (CapsuleTools tools : runnable(caller.tenant())) {
            for (ToolSpec spec : tools.tools().values()) {
                if (spec.url().isPresent() && !Egress.declared(tools.manifest().egress(), spec.url().get())) {
                    continue;
                }
                RuntimeInput input = new RuntimeInput(Map.of("kind", "tool_call", "request_id", caller.requestId()), caller.celValue(),
                        tools.manifest().document(), toolValue(tools.name(), spec, ""), Map.of());
                if (policy.permits(caller.policyTenant(), input)) {
                    callable.add(info(tools, spec));
                }
            }
        }
        return callable;
    }

    private List<CapsuleTools> runnable(TenantId tenant) {
        List<CapsuleTools> loaded = new ArrayList<>();
        for (Installed installed : installs.list(tenant)) {
            if (installed.revocation().isPresent()) {
                continue;
            }
            try {
                loaded.add(capsules.load(installed));
            } catch (RuntimeException e) {
                LOG.warn("Cannot read the tools of {}@{}: {}", installed.name(), installed.version(), e.getMessage());
            }
        }
        return loaded;
    }

    private static List<ToolInfo> infos(CapsuleTools tools) {
        return tools.tools().values().stream().sorted(java.util.Comparator.comparing(ToolSpec::name)).map(spec -> info(tools, spec)).toList();
    }

    private static ToolInfo info(CapsuleTools tools, ToolSpec spec) {
        return new ToolInfo(tools.name(), tools.version(), spec.name(), spec.description(), spec.inputSchema(), spec.kind());
    }

    private static Map<String, Object> toolValue(String capsule, ToolSpec spec, String argumentsSha256) {
        Map<String, Object> toolValue = new LinkedHashMap<>();
        toolValue.put("name", spec.name());
        toolValue.put("capsule", capsule);
        toolValue.put("executor", spec.kind());
        spec.url().ifPresent(url -> toolValue.put("host", url.getHost()));
        spec.server().ifPresent(server -> toolValue.put("server", server));
        toolValue.put("arguments_sha256", argumentsSha256);
        return toolValue;
    }

    /** {@link #call(ToolCaller, Installed, String, JsonNode, ToolSink)} of the tenant's install of {@code capsule}. */
    public ToolResult call(ToolCaller caller, String capsule, String tool, JsonNode args, ToolSink sink) {
        return call(caller, installs.runnable(caller.tenant(), capsule), tool, args, sink);
    }

    /**
     * Calls {@code tool} of the installed {@code capsule} for {@code caller} with {@code args};
     * {@code sink} hears the call's events. Throws {@link SomaException} when there is nothing
     * to call (the capsule is not installed 404, was revoked 410, has no such tool 404) or the
     * budget does not allow it (402); everything else, failures of the tool included, is a
     * {@link ToolResult}.
     */
    public ToolResult call(ToolCaller caller, Installed capsule, String tool, JsonNode args, ToolSink sink) {
        return call(caller, capsule, tool, args, sink, Optional.empty());
    }

    /**
     * As {@link #call(ToolCaller, Installed, String, JsonNode, ToolSink)}, stoppable: after
     * {@link ToolCancellation#cancel()}, the executor is interrupted and the call fails with
     * reason {@code cancelled}, metered like any other call.
     */
    public ToolResult call(ToolCaller caller, Installed capsule, String tool, JsonNode args, ToolSink sink, ToolCancellation cancellation) {
        return call(caller, capsule, tool, args, sink, Optional.of(requireNonNull(cancellation, "cancellation is null")));
    }

    private ToolResult call(ToolCaller caller, Installed capsule, String tool, JsonNode args, ToolSink sink, Optional<ToolCancellation> cancellation) {
        requireNonNull(caller, "caller is null");
        requireNonNull(capsule, "capsule is null");
        requireNonNull(tool, "tool is null");
        requireNonNull(args, "args is null");
        requireNonNull(sink, "sink is null");
        // 1. The tool of the runnable install (the install may have been revoked since the caller looked).
        Installed installed = installs.runnable(caller.tenant(), capsule.name());
        CapsuleTools tools = capsules.load(installed);
        ToolSpec spec = tools.tool(tool).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "%s@%s has no tool '%s' (it has %s)"
                .formatted(installed.name(), installed.version(), tool, tools.tools().keySet().stream().sorted().toList()),
                Map.of("capsule", installed.name(), "tool", tool)));
        UUID callId = ids.next();
        String argumentsSha256 = Hashing.jsonSha256(args);
        ToolResult.Call call = new ToolResult.Call(installed.name(), installed.version(), installed.digest(), spec.name(), spec.kind(),
                argumentsSha256);
        // 2. Arguments against the input schema: every error, with its pointer.
        List<ToolResult.ArgumentError> errors = arguments.check(spec.schema(), args);
        if (!errors.isEmpty()) {
            String message = "The arguments of %s do not match its input schema: %s".formatted(spec.name(), errors.stream()
                    .map(error -> (error.pointer().isEmpty() ? "(root)" : error.pointer()) + " " + error.message()).toList());
            return refused(caller, call, callId, sink, new ToolResult.Failed(callId, call, FailureReason.INVALID_ARGUMENTS, message, errors,
                    "", Duration.ZERO, Optional.empty(), Optional.empty(), Money.ZERO), Map.of("errors", errorList(errors)));
        }
        // Declared egress: an HTTP or MCP tool reaches only hosts the capsule's permissions name.
        Optional<String> host = spec.url().map(url -> Egress.hostPort(url));
        if (host.isPresent() && !Egress.declared(tools.manifest().egress(), spec.url().orElseThrow())) {
            String message = "%s reaches %s, which %s does not declare in permissions.egress %s".formatted(spec.name(), host.get(),
                    installed.name(), tools.manifest().egress());
            return refused(caller, call, callId, sink, new ToolResult.Failed(callId, call, FailureReason.DENIED, message, List.of(), "",
                    Duration.ZERO, Optional.empty(), Optional.empty(), Money.ZERO), Map.of("egress", host.get()));
        }
        // 3. Runtime policy, on record.
        Map<String, Object> toolValue = toolValue(installed.name(), spec, argumentsSha256);
        Decision decision = policy.authorize(caller.policyTenant(), new RuntimeInput(Map.of("kind", "tool_call", "request_id", caller.requestId()),
                caller.celValue(), tools.manifest().document(), toolValue, Map.of()), caller.policyActor());
        if (decision instanceof Decision.Denied denied) {
            String message = "%s of %s was denied by policy %s: %s".formatted(spec.name(), installed.name(), denied.violation().policyName(),
                    denied.violation().message());
            Map<String, Object> detail = new LinkedHashMap<>();
            detail.put("decision_id", denied.decisionId().toString());
            detail.put("policy", denied.violation().policyName());
            return refused(caller, call, callId, sink, new ToolResult.Failed(callId, call, FailureReason.DENIED, message, List.of(), "",
                    Duration.ZERO, Optional.of(denied.decisionId()), Optional.empty(), Money.ZERO), detail);
        }
        // The tenant's headers for a remote tool's host, secrets opened (409 tool-secret-missing if one is gone); never logged.
        Map<String, String> headers = spec.kind().equals("wasm") ? Map.of() : settings.headers(caller.tenant(), installed.name(), spec.name());
        // 4. Reserve the price (a tool call's price is its worst case).
        Money price = prices.toolPrice(installed.name(), spec.name(), spec.kind(), clock.now()).map(PriceBook.ToolPrice::perCall)
                .orElse(Money.ZERO);
        Reservation reservation = budgets.reserve(caller.tenant(), caller.keyId(), caller.tenantBudget(), caller.keyBudget(), price);
        // 5. Execute in the sandbox, streaming bounded deltas.
        Outcome executed;
        byte[] arguments = Json.bytes(args);
        long started = System.nanoTime();
        try {
            emit(sink, new ToolEvent.Started(callId, installed.name(), spec.name(), spec.kind()));
            AtomicInteger index = new AtomicInteger();
            Consumer<String> deltas = text -> emit(sink, new ToolEvent.Delta(callId, index.getAndIncrement(), text));
            Executor executor = executor(spec);
            if (cancellation.isEmpty()) {
                executed = executor.execute(caller.tenant(), tools, spec, arguments, headers, deltas);
            } else {
                executed = cancellation.get().run(() -> executor.execute(caller.tenant(), tools, spec, arguments, headers, deltas));
                if (cancellation.get().cancelled() && executed instanceof Outcome.Failure failure) {
                    executed = new Outcome.Failure(FailureReason.CANCELLED, "The call was cancelled by its caller", failure.log());
                }
            }
        } catch (RuntimeException e) {
            budgets.release(reservation);
            throw e;
        }
        Outcome outcome = executed;
        Duration duration = Duration.ofNanos(System.nanoTime() - started);
        // 6-8. One ledger row, the audit entry and the event in one transaction; then settle.
        String outcomeName = outcome instanceof Outcome.Failure failure ? failure.reason().wire() : "completed";
        Optional<String> resultSha256 = outcome instanceof Outcome.Success success ? Optional.of(Hashing.jsonSha256(success.result()))
                : Optional.empty();
        Ledger.Entry entry;
        try {
            entry = commit.execute(tx -> {
                Ledger.Entry written = ledger.recordToolCall(tx, caller.tenant(), caller.keyId(), caller.requestId(), installed.name(),
                        spec.name(), spec.kind(), duration, outcomeName, price, reservation.id());
                // Egress: the arguments sent to a tool host (http, mcp); a wasm tool runs in-process.
                if (!spec.kind().equals("wasm")) {
                    ledger.recordEgress(tx, caller.tenant(), written.id(), arguments.length);
                }
                Map<String, Object> facts = facts(callId, call, outcomeName, duration, decision.decisionId(), resultSha256);
                facts.put("ledger_id", written.id().toString());
                facts.put("cost", price.toPlainString());
                if (outcome instanceof Outcome.Failure failure) {
                    facts.put("message", truncate(failure.message(), 500));
                }
                tx.audit(new AuditEntry(Optional.of(caller.tenant()), caller.actor(), "tool.call", installed.name() + "/" + spec.name(),
                        caller.requestId(), facts));
                tx.publish(new OutboxEvent(CALLED_EVENT, callId.toString(), Optional.of(caller.tenant()), facts));
                return written;
            });
        } catch (RuntimeException e) {
            budgets.release(reservation);
            throw e;
        }
        settleQuietly(reservation, entry.cost());
        metrics.call(spec.kind(), outcomeName, duration);
        LOG.info("Tool call {} {}/{} ({}) {} in {} ms", callId, installed.name(), spec.name(), spec.kind(), outcomeName, duration.toMillis());
        return switch (outcome) {
            case Outcome.Success success -> {
                emit(sink, new ToolEvent.Completed(callId, success.result(), duration.toMillis(), entry.id(), entry.cost()));
                yield new ToolResult.Completed(callId, call, success.result(), resultSha256.orElseThrow(), success.log(), duration,
                        decision.decisionId(), entry.id(), entry.cost());
            }
            case Outcome.Failure failure -> {
                Map<String, Object> detail = new LinkedHashMap<>();
                detail.put("ledger_id", entry.id().toString());
                detail.put("duration_ms", duration.toMillis());
                if (!failure.log().isEmpty()) {
                    detail.put("log", failure.log());
                }
                emit(sink, new ToolEvent.Failed(callId, failure.reason(), failure.message(), detail));
                yield new ToolResult.Failed(callId, call, failure.reason(), failure.message(), List.of(), failure.log(), duration,
                        Optional.of(decision.decisionId()), Optional.of(entry.id()), entry.cost());
            }
        };
    }

    private Executor executor(ToolSpec spec) {
        Executor executor = executors.get(spec.kind());
        if (executor == null) {
            throw new SomaException(ErrorCode.NOT_FOUND, "This SomaStack runs no '%s' tools yet".formatted(spec.kind()));
        }
        return executor;
    }

    /** A call refused before it ran: audited (no ledger row), {@code tool.failed}, and the result. */
    private ToolResult refused(ToolCaller caller, ToolResult.Call call, UUID callId, ToolSink sink, ToolResult.Failed failed,
            Map<String, Object> detail) {
        Map<String, Object> facts = facts(callId, call, failed.reason().wire(), Duration.ZERO,
                failed.decisionId().orElse(null), Optional.empty());
        facts.put("message", truncate(failed.message(), 500));
        commit.auditLater(new AuditEntry(Optional.of(caller.tenant()), caller.actor(), "tool.call", call.capsule() + "/" + call.tool(),
                caller.requestId(), facts));
        metrics.rejected(call.executor(), failed.reason().wire());
        emit(sink, new ToolEvent.Failed(callId, failed.reason(), failed.message(), detail));
        return failed;
    }

    private static Map<String, Object> facts(UUID callId, ToolResult.Call call, String outcome, Duration duration, UUID decisionId,
            Optional<String> resultSha256) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("call_id", callId.toString());
        facts.put("capsule", call.capsule());
        facts.put("version", call.version());
        facts.put("tool", call.tool());
        facts.put("executor", call.executor());
        facts.put("outcome", outcome);
        facts.put("duration_ms", duration.toMillis());
        facts.put("arguments_sha256", call.argumentsSha256());
        if (decisionId != null) {
            facts.put("decision_id", decisionId.toString());
        }
        resultSha256.ifPresent(sha -> facts.put("result_sha256", sha));
        return facts;
    }

    private static List<Map<String, String>> errorList(List<ToolResult.ArgumentError> errors) {
        return errors.stream().map(error -> Map.of("pointer", error.pointer(), "message", error.message())).toList();
    }

    static List<Map<String, String>> errors(ToolResult.Failed failed) {
        return errorList(failed.errors());
    }

    private static String truncate(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max) + "…";
    }

    private static void emit(ToolSink sink, ToolEvent event) {
        try {
            sink.accept(event);
        } catch (RuntimeException e) {
            LOG.debug("A tool event sink failed ({}); the call goes on", e.toString());
        }
    }

    /** The ledger row is durable; if settling fails now, the sweeper settles it from the ledger later. */
    private void settleQuietly(Reservation reservation, Money cost) {
        try {
            budgets.settle(reservation, cost);
        } catch (RuntimeException e) {
            LOG.warn("Settling reservation {} failed ({}); the sweeper will settle it from the ledger", reservation.id(), e.getMessage());
        }
    }
}
