package io.somastack.policy.internal;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerBuilder;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.policy.PolicyDefinition;
import io.somastack.policy.PolicyKind;
import io.somastack.policy.StoredPolicy;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles policies to CEL programs: every variable of the policy's kind is a
 * {@code map(string, dyn)}, every expression must type-check as bool. All errors of a policy
 * are reported at once. Compiled programs are immutable and thread-safe.
 */
public final class PolicyCompiler {
    /** Bounds comprehension loops so that no policy can run away. */
    private static final CelOptions OPTIONS = CelOptions.current().comprehensionMaxIterations(10_000).build();

    private final Map<PolicyKind, CelCompiler> compilers = new EnumMap<>(PolicyKind.class);
    /**
     * cel-java compiles the pattern of {@code matches} on every evaluation (about 12 us); these
     * bindings replace the standard ones with the same semantics (RE2, partial match, the same
     * program-size bound) over patterns compiled once per node. Patterns come from policies, so
     * the cache is bounded by what tenants wrote; it is capped anyway.
     */
    private static final Map<String, com.google.re2j.Pattern> PATTERNS = new java.util.concurrent.ConcurrentHashMap<>();
    private static final int MAX_CACHED_PATTERNS = 10_000;

    private final CelRuntime runtime = CelRuntimeFactory.standardCelRuntimeBuilder().setOptions(OPTIONS).setStandardEnvironmentEnabled(false)
            .setStandardFunctions(dev.cel.runtime.CelStandardFunctions.newBuilder()
                    .excludeFunctions(dev.cel.runtime.CelStandardFunctions.StandardFunction.MATCHES).build())
            .addFunctionBindings(
                    dev.cel.runtime.CelFunctionBinding.from("matches", String.class, String.class, PolicyCompiler::matches),
                    dev.cel.runtime.CelFunctionBinding.from("matches_string", String.class, String.class, PolicyCompiler::matches))
            .build();

    private static boolean matches(String text, String regex) throws dev.cel.common.exceptions.CelInvalidArgumentException {
        com.google.re2j.Pattern pattern = PATTERNS.get(regex);
        if (pattern == null) {
            try {
                pattern = com.google.re2j.Pattern.compile(regex);
            } catch (RuntimeException e) {
                throw new dev.cel.common.exceptions.CelInvalidArgumentException(e);
            }
            int limit = OPTIONS.maxRegexProgramSize();
            if (limit >= 0 && pattern.programSize() > limit) {
                throw new dev.cel.common.exceptions.CelInvalidArgumentException(new IllegalArgumentException(
                        "Regex pattern exceeds allowed program size. Allowed: %d, Provided: %d".formatted(limit, pattern.programSize())));
            }
            if (PATTERNS.size() < MAX_CACHED_PATTERNS) {
                PATTERNS.put(regex, pattern);
            }
        }
        return pattern.matcher(text).find();
    }

    public PolicyCompiler() {
        for (PolicyKind kind : PolicyKind.values()) {
            CelCompilerBuilder builder = CelCompilerFactory.standardCelCompilerBuilder().setOptions(OPTIONS)
                    .setStandardMacros(CelStandardMacro.STANDARD_MACROS).setResultType(SimpleType.BOOL);
            for (String variable : kind.variables()) {
                builder.addVar(variable, MapType.create(SimpleType.STRING, SimpleType.DYN));
            }
            compilers.put(kind, builder.build());
        }
    }

    /** Compiles {@code policy}, or throws a 400 listing every expression that does not compile or is not bool. */
    public CompiledPolicy compile(StoredPolicy policy) {
        PolicyDefinition definition = policy.definition();
        CelCompiler compiler = compilers.get(definition.kind());
        List<String> errors = new ArrayList<>();
        List<CompiledPolicy.Expression> conditions = new ArrayList<>();
        List<CompiledPolicy.Expression> validations = new ArrayList<>();
        for (int i = 0; i < definition.matchConditions().size(); i++) {
            PolicyDefinition.MatchCondition condition = definition.matchConditions().get(i);
            compile(compiler, condition.expression(), "matchConditions[%d] (%s)".formatted(i, condition.name()), condition.name(), errors)
                    .ifPresent(conditions::add);
        }
        for (int i = 0; i < definition.validations().size(); i++) {
            PolicyDefinition.Validation validation = definition.validations().get(i);
            compile(compiler, validation.expression(), "validations[%d]".formatted(i), validation.message(), errors)
                    .ifPresent(validations::add);
        }
        if (!errors.isEmpty()) {
            throw new SomaException(ErrorCode.POLICY_INVALID, "Policy %s does not compile: %s".formatted(definition.name(), String.join("; ", errors)),
                    Map.of("errors", errors));
        }
        return new CompiledPolicy(policy, conditions, validations);
    }

    private java.util.Optional<CompiledPolicy.Expression> compile(CelCompiler compiler, String expression, String where, String label,
            List<String> errors) {
        try {
            CelAbstractSyntaxTree ast = compiler.compile(expression).getAst();
            return java.util.Optional.of(new CompiledPolicy.Expression(expression, label, runtime.createProgram(ast)));
        } catch (CelValidationException e) {
            errors.add("%s: %s".formatted(where, e.getMessage().replace("\n", " ").replaceAll(" +", " ").strip()));
        } catch (CelEvaluationException e) {
            errors.add("%s: %s".formatted(where, e.getMessage()));
        }
        return java.util.Optional.empty();
    }
}
