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
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
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
                Optional.of(bundle.digest()), outcome.violation(), inputDigest(input), outcome.evaluated(), actor.name(), actor.requestId(), now());
        decisions.record(record);
        return outcome.violation().<Admission>map(violation -> new Admission.Denied(record.id(), bundle, violation, outcome.evaluated()))
                .orElseGet(() -> new Admission.Admitted(record.id(), bundle, outcome.evaluated()));
    }

    /** Runs the tenant's runtime policies on {@code input} and records the decision. */
    public Decision authorize(PolicyTenant tenant, RuntimeInput input, Actor actor) {
        Map<String, Object> variables = new LinkedHashMap<>();
        variables.put("request", input.request());
        variables.put("caller", input.caller());
        variables.put("tenant", tenant.celValue());
        variables.put("capsule", input.capsule());
        variables.put("tool", input.tool());
        variables.put("model", input.model());
        Outcome outcome = evaluate(policies.compiled(tenant.id(), PolicyKind.RUNTIME), PolicyKind.RUNTIME, variables);
        Optional<String> version = Optional.ofNullable(input.capsule().get("version")).map(String::valueOf);
        DecisionRecord record = new DecisionRecord(ids.next(), tenant.id(), PolicyKind.RUNTIME,
                outcome.violation().isPresent() ? "denied" : "allowed", input.subject(), version, Optional.empty(), outcome.violation(),
                inputDigest(variables), outcome.evaluated(), actor.name(), actor.requestId(), now());
        decisions.record(record);
        return outcome.violation().<Decision>map(violation -> new Decision.Denied(record.id(), violation, outcome.evaluated()))
                .orElseGet(() -> new Decision.Allowed(record.id(), outcome.evaluated()));
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
            throw new SomaException(ErrorCode.INTERNAL, "Cannot digest the decision input: " + e.getMessage());
        }
    }
}
