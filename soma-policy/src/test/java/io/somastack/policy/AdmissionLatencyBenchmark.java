package io.somastack.policy;

import io.somastack.kernel.TenantId;
import io.somastack.policy.internal.CelValues;
import io.somastack.policy.internal.CompiledPolicy;
import io.somastack.policy.internal.PolicyCompiler;
import io.somastack.policy.internal.Signers;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Preliminary micro benchmark (not JMH): the policy evaluation of one admission, ten
 * compiled CEL validations over the real weather capsule and its npm SBOM, without the
 * decision write. Run: {@code java -cp <test classpath> io.somastack.policy.AdmissionLatencyBenchmark [iterations]}.
 */
public final class AdmissionLatencyBenchmark {
    private static final List<String> EXPRESSIONS = List.of(
            "signatures.keys.exists(k, k.role == 'publisher')",
            "sbom.components.all(c, c.licenses.all(l, !l.startsWith('GPL') && !l.startsWith('AGPL')))",
            "capsule.permissions.egress.all(h, h in ['api.weather.example', 'api.maps.example'] || h.endsWith('.acme.example'))",
            "double(capsule.permissions.max_budget_per_run_usd) <= 1.0",
            "capsule.publisher == 'acme'",
            "capsule.name.matches('^[a-z][a-z0-9-]*$')",
            "!has(capsule.tools) || capsule.tools.all(t, t.executor.kind in ['http', 'wasm'])",
            "size(sbom.components) < 500",
            "tenant.tier in ['standard', 'enterprise']",
            "!capsule.version.startsWith('0.')");

    private AdmissionLatencyBenchmark() {
    }

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        TenantId tenant = new TenantId(UUID.randomUUID());
        PolicyDefinition definition = new PolicyDefinition("benchmark", PolicyKind.ADMISSION, List.of(),
                EXPRESSIONS.stream().map(expression -> new PolicyDefinition.Validation(expression, "failed: " + expression)).toList());
        CompiledPolicy policy = new PolicyCompiler().compile(new StoredPolicy(tenant, definition, 1, Instant.now(), "benchmark"));
        CapsuleBundle bundle = new BundleReader(BundleLimits.defaults()).read(TestCapsules.bundle());
        TrustedKey key = new TrustedKey(tenant, "sha256:00", "acme", "publisher", "pem", Instant.now(), "benchmark", java.util.Optional.empty());
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("capsule", bundle.manifest().document());
        input.put("sbom", bundle.sbom().celValue());
        input.put("signatures", Signers.celValue(List.of(key)));
        input.put("tenant", Map.of("id", tenant.toString(), "tier", "standard"));
        Map<String, Object> variables = CelValues.input(PolicyKind.ADMISSION.variables(), input);
        if (policy.evaluate(variables).violation().isPresent()) {
            throw new IllegalStateException("benchmark input must pass: " + policy.evaluate(variables).violation());
        }
        for (int i = 0; i < iterations / 2; i++) {
            policy.evaluate(variables);
        }
        long[] nanos = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            long start = System.nanoTime();
            policy.evaluate(variables);
            nanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(nanos);
        System.out.printf("admission policy evaluation, 10 CEL validations, %d iterations: p50 %.1f us, p99 %.1f us, p99.9 %.1f us%n", iterations,
                nanos[iterations / 2] / 1000.0, nanos[(int) (iterations * 0.99)] / 1000.0, nanos[(int) (iterations * 0.999)] / 1000.0);
    }
}
