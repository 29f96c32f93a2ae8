package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.SomaException;
import io.somastack.policy.internal.CelValues;
import io.somastack.policy.internal.CompiledPolicy;
import io.somastack.policy.internal.Hashes;
import io.somastack.policy.internal.PolicyCompiler;
import io.somastack.policy.internal.Signers;
import io.somastack.policy.internal.StorableText;
import io.somastack.store.Tx;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.SerializationFeature;

/**
 * Decides, by a tenant's CEL policies, whether a capsule may be installed
 * ({@link #admit}) and whether a call at run time may proceed ({@link #authorize}). Every
 * decision is recorded through {@link Decisions} before it is returned. Policy outcomes are
 * values ({@link Admission}, {@link Decision}); a malformed bundle, an untrusted, revoked or
 * non-matching signature is a 4xx {@link SomaException} and nothing is recorded. With no
 * policies of a kind, everything is admitted or allowed (still on record). Thread-safe.
 *
 * <pre>{@code
 * switch (engine.admit(tenant, new SignedBundle(bytes, signatures), actor)) {
 *     case Admission.Admitted admitted -> install(admitted.bundle());
 *     case Admission.Denied denied -> refuse(denied.violation().message());
 * }
 * }</pre>
 */
public final class PolicyEngine {
    private static final Logger LOG = LoggerFactory.getLogger(PolicyEngine.class);

    private final BundleReader reader;
    private final TrustedKeys trustedKeys;
    private final Policies policies;
    private final Decisions decisions;
    private final PolicyCompiler compiler;
    private final Clock clock;
    private final Ids ids;

    public PolicyEngine(BundleReader reader, TrustedKeys trustedKeys, Policies policies, Decisions decisions, PolicyCompiler compiler,
            Clock clock, Ids ids) {
        this.reader = requireNonNull(reader, "reader is null");
        this.trustedKeys = requireNonNull(trustedKeys, "trustedKeys is null");
        this.policies = requireNonNull(policies, "policies is null");
        this.decisions = requireNonNull(decisions, "decisions is null");
        this.compiler = requireNonNull(compiler, "compiler is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    /** Reads and checks the bundle, verifies its signatures against the tenant's keys, runs admission policies, records the decision. */
    public Admission admit(PolicyTenant tenant, SignedBundle signed, Actor actor) {
        Judged judged = judge(tenant, signed, actor);
        decisions.record(judged.record());
        return judged.admission();
    }

    /**
     * A dry run of {@link #admit}: judges the bundle the same way (its signatures against the
     * tenant's keys, the tenant's admission policies) and records no decision. Empty when the
     * bundle would be admitted, else the policy that would deny it. The console's "admitted by
     * this tenant's policies" badge asks this each time a capsule page is drawn.
     */
    public Optional<Violation> wouldAdmit(PolicyTenant tenant, SignedBundle signed, Actor actor) {
        return switch (judge(tenant, signed, actor).admission()) {
            case Admission.Denied denied -> Optional.of(denied.violation());
            case Admission.Admitted admitted -> Optional.empty();
        };
    }

    /**
     * Admission as the first step of the caller's own write (a publish, an install), so the
     * decision on record is the outcome the client gets. The bundle is judged as by
     * {@link #admit}. A denial is recorded and thrown as 403 {@code admission-denied}
     * ({@link Admission.Denied#refusal()}); {@code write} does not run. When admitted,
     * {@code write} runs in the transaction that records the admitted decision, so that
     * decision is on record exactly when the write is. When {@code write} refuses (throws a
     * {@link SomaException}: not the publisher, a version conflict), nothing of it is written,
     * the decision is recorded with outcome {@code refused} and the problem's type and detail,
     * and the refusal is rethrown carrying the decision id ({@code decision_id}).
     */
    public <T> T admitThen(PolicyTenant tenant, SignedBundle signed, Actor actor, BiFunction<Tx, Admission.Admitted, T> write) {
        Judged judged = judge(tenant, signed, actor);
        return switch (judged.admission()) {
            case Admission.Denied denied -> {
                decisions.record(judged.record());
                throw denied.refusal();
            }
            case Admission.Admitted admitted -> {
                try {
                    yield decisions.record(judged.record(), tx -> write.apply(tx, admitted));
                } catch (SomaException refusal) {
                    throw recordRefusal(judged.record(), refusal);
                }
            }
        };
    }

    /** Records {@code admitted} as refused by {@code refusal}; returns the refusal to throw, naming the decision. */
    private SomaException recordRefusal(DecisionRecord admitted, SomaException refusal) {
        try {
            // A server failure's detail may carry driver text; the record keeps only its title.
            String detail = refusal.code().status() >= 500 ? refusal.code().title() : refusal.detail();
            decisions.record(admitted.refused(new DecisionRecord.Refusal(refusal.code(), detail), now()));
        } catch (RuntimeException e) {
            // The store failing too: the client still gets the first refusal; the log has both.
            LOG.error("Cannot record the refusal of decision {} ({})", admitted.id(), refusal.code(), e);
            refusal.addSuppressed(e);
            return refusal;
        }
        Map<String, Object> extensions = new LinkedHashMap<>(refusal.extensions());
        extensions.put("decision_id", admitted.id().toString());
        return new SomaException(refusal.code(), refusal.detail(), extensions, refusal);
    }

    /** Reads and checks the bundle, verifies its signatures and runs the admission policies; records nothing. */
    private Judged judge(PolicyTenant tenant, SignedBundle signed, Actor actor) {
        CapsuleBundle bundle = reader.read(signed.packed());
        List<TrustedKey> signers = Signers.verify(signed, HexFormat.of().parseHex(bundle.packedSha256()), trustedKeys.list(tenant.id()));
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("capsule", bundle.manifest().document());
        input.put("sbom", bundle.sbom().celValue());
        input.put("signatures", Signers.celValue(signers));
        input.put("tenant", tenant.celValue());
        Outcome outcome = evaluate(policies.compiled(tenant.id(), PolicyKind.ADMISSION), PolicyKind.ADMISSION, input);
        DecisionRecord record = new DecisionRecord(ids.next(), tenant.id(), PolicyKind.ADMISSION,
                outcome.violation().isPresent() ? "denied" : "admitted", bundle.manifest().name(), Optional.of(bundle.manifest().version()),
                Optional.of(bundle.digest()), outcome.violation(), Optional.empty(), inputDigest(input), outcome.evaluated(), actor.name(),
                actor.requestId(), now());
        Admission admission = outcome.violation().<Admission>map(violation -> new Admission.Denied(record.id(), bundle, violation, outcome.evaluated()))
                .orElseGet(() -> new Admission.Admitted(record.id(), bundle, outcome.evaluated()));
        return new Judged(admission, record);
    }

    /** An admission and the decision record that says so, not yet written. */
    private record Judged(Admission admission, DecisionRecord record) {
    }

    /** Runs the tenant's runtime policies on {@code input} and records the decision. */
    public Decision authorize(PolicyTenant tenant, RuntimeInput input, Actor actor) {
        Judgement judgement = judge(tenant, input, actor);
        record(judgement);
        return judgement.decision();
    }

    /**
     * A runtime decision made and not yet on record: the caller records it exactly once, alone
     * ({@link #record(Judgement)}) or in the transaction of what the decision allowed
     * ({@link #record(Tx, Judgement)}, so an allowed run costs no commit of its own).
     */
    public record Judgement(Decision decision, DecisionRecord record) {
    }

    /** Runs the tenant's runtime policies on {@code input}; records nothing (see {@link Judgement}). */
    public Judgement judge(PolicyTenant tenant, RuntimeInput input, Actor actor) {
        Map<String, Object> variables = runtimeVariables(tenant, input);
        Outcome outcome = evaluate(policies.compiled(tenant.id(), PolicyKind.RUNTIME), PolicyKind.RUNTIME, variables);
        Optional<String> version = Optional.ofNullable(input.capsule().get("version")).map(String::valueOf);
        StorableText.check(input.subject(), "capsule.name");
        version.ifPresent(text -> StorableText.check(text, "capsule.version"));
        DecisionRecord record = new DecisionRecord(ids.next(), tenant.id(), PolicyKind.RUNTIME,
                outcome.violation().isPresent() ? "denied" : "allowed", input.subject(), version, Optional.empty(), outcome.violation(),
                Optional.empty(), inputDigest(variables), outcome.evaluated(), actor.name(), actor.requestId(), now());
        return new Judgement(outcome.violation().<Decision>map(violation -> new Decision.Denied(record.id(), violation, outcome.evaluated()))
                .orElseGet(() -> new Decision.Allowed(record.id(), outcome.evaluated())), record);
    }

    /** Puts {@code judgement} on record in a commit of its own. */
    public void record(Judgement judgement) {
        decisions.record(judgement.record());
    }

    /** Puts {@code judgement} on record in {@code tx}. */
    public void record(Tx tx, Judgement judgement) {
        decisions.record(tx, judgement.record());
    }

    /**
     * Whether the tenant's runtime policies would allow {@code input}, recording nothing: for
     * showing a caller only what it may call (the tools {@code /mcp} lists). The call itself is
     * still {@link #authorize authorized}, on record.
     */
    public boolean permits(PolicyTenant tenant, RuntimeInput input) {
        return evaluate(policies.compiled(tenant.id(), PolicyKind.RUNTIME), PolicyKind.RUNTIME, runtimeVariables(tenant, input))
                .violation().isEmpty();
    }

    private static Map<String, Object> runtimeVariables(PolicyTenant tenant, RuntimeInput input) {
        Map<String, Object> variables = new LinkedHashMap<>();
        variables.put("request", input.request());
        variables.put("caller", input.caller());
        variables.put("tenant", tenant.celValue());
        variables.put("capsule", input.capsule());
        variables.put("tool", input.tool());
        variables.put("model", input.model());
        return variables;
    }

    /**
     * Tries {@code definition} (compiled now, stored nowhere) on {@code input} without recording anything:
     * for {@code POST /v1/policies/evaluate}. {@code tenant} is filled in unless the input names one.
     */
    public Trial evaluate(PolicyTenant tenant, PolicyDefinition definition, Map<String, Object> input) {
        CompiledPolicy compiled = compiler.compile(new StoredPolicy(tenant.id(), definition, 0, now(), "trial"));
        Map<String, Object> variables = new LinkedHashMap<>(input);
        variables.putIfAbsent("tenant", tenant.celValue());
        CompiledPolicy.Verdict verdict = compiled.evaluate(CelValues.input(definition.kind().variables(), variables));
        return new Trial(verdict.matched(), verdict.violation());
    }

    /** The outcome of {@link #evaluate}: whether the policy applied and, if it denied, why. */
    public record Trial(boolean matched, Optional<Violation> violation) {
    }

    private static Outcome evaluate(List<CompiledPolicy> compiled, PolicyKind kind, Map<String, Object> input) {
        Map<String, Object> variables = CelValues.input(kind.variables(), input);
        List<String> evaluated = new ArrayList<>();
        for (CompiledPolicy policy : compiled) {
            CompiledPolicy.Verdict verdict = policy.evaluate(variables);
            if (verdict.matched()) {
                evaluated.add(policy.policy().reference());
            }
            if (verdict.violation().isPresent()) {
                return new Outcome(verdict.violation(), evaluated);
            }
        }
        return new Outcome(Optional.empty(), evaluated);
    }

    private record Outcome(Optional<Violation> violation, List<String> evaluated) {
    }

    private Instant now() {
        return clock.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
    }

    static String inputDigest(Map<String, Object> input) {
        try {
            byte[] canonical = io.somastack.kernel.Json.mapper().writer().with(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).writeValueAsBytes(input);
            return "sha256:" + Hashes.sha256(canonical);
        } catch (RuntimeException e) {
            // The serializer's message may quote the input; it goes to the log, not to the client.
            LOG.error("Cannot digest a decision input", e);
            throw new SomaException(ErrorCode.INTERNAL, "Cannot digest the decision input", Map.of(), e);
        }
    }
}
