package io.somastack.server;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.EvaluationResult;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import io.somastack.models.internal.Upstream;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Module boundaries, checked over the compiled classes of every module the server is built
 * from: a module's {@code ...internal} package is its own, and no other module uses anything in
 * it (imports, calls, field and parameter types, annotations). soma-bench is not on this class
 * path; it benchmarks internals on purpose.
 */
class ModuleBoundariesTest {
    private static final Pattern MODULE = Pattern.compile("io\\.somastack\\.([a-z]+)(\\..*)?");
    private static final Pattern INTERNAL = Pattern.compile("io\\.somastack\\.([a-z]+)\\.internal(\\..*)?");

    private static JavaClasses production;

    @BeforeAll
    static void importClasses() {
        production = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(location -> !location.contains("-tests.jar"))
                .importPackages("io.somastack");
    }

    private static final ArchRule NO_FOREIGN_INTERNALS = classes().should(new ArchCondition<JavaClass>("use only their own module's internal package") {
        @Override
        public void check(JavaClass javaClass, ConditionEvents events) {
            Optional<String> module = module(javaClass.getPackageName());
            for (Dependency dependency : javaClass.getDirectDependenciesFromSelf()) {
                Matcher internal = INTERNAL.matcher(dependency.getTargetClass().getPackageName());
                if (internal.matches() && !module.equals(Optional.of(internal.group(1)))) {
                    events.add(SimpleConditionEvent.violated(dependency, "module %s uses %s's internal package: %s"
                            .formatted(module.orElse("?"), internal.group(1), dependency.getDescription())));
                }
            }
        }
    });

    private static Optional<String> module(String packageName) {
        Matcher matcher = MODULE.matcher(packageName);
        return matcher.matches() ? Optional.of(matcher.group(1)) : Optional.empty();
    }

    @Test
    void everyModuleIsImportedFromItsCompiledClasses() {
        Set<String> modules = production.stream().map(javaClass -> module(javaClass.getPackageName())).flatMap(Optional::stream)
                .collect(Collectors.toSet());

        assertThat(modules).contains("kernel", "store", "gateway", "models", "metering", "memory", "policy", "marketplace", "tools", "server");
    }

    @Test
    void noModuleUsesAnotherModulesInternalPackage() {
        NO_FOREIGN_INTERNALS.check(production);
    }

    @Test
    void aClassThatUsesAnotherModulesInternalPackageIsNamed() {
        JavaClasses offender = new ClassFileImporter().importClasses(ReachesIntoModels.class);

        EvaluationResult result = NO_FOREIGN_INTERNALS.evaluate(offender);

        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().getDetails()).anySatisfy(detail -> assertThat(detail)
                .contains("module server uses models's internal package", ReachesIntoModels.class.getName(), Upstream.class.getName()));
    }

    /** What the rule forbids: server code calling soma-models' internals. */
    static final class ReachesIntoModels {
        boolean retryable(Throwable failure) {
            return Upstream.isRetryable(failure);
        }
    }
}
