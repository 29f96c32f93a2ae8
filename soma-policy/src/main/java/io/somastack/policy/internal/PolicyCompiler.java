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
    private final CelRuntime runtime = CelRuntimeFactory.standardCelRuntimeBuilder().setOptions(OPTIONS).build();

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
