package io.somastack.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code matches} keeps CEL's semantics (RE2, partial match) with patterns compiled once. */
class RegexMatchesTest {
    private static TestConstitution soma;

    @BeforeAll
    static void start() {
        soma = new TestConstitution();
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    private static PolicyEngine.Trial trial(String expression, String name) {
        PolicyDefinition definition = new PolicyDefinition("regex", PolicyKind.ADMISSION, List.of(),
                List.of(new PolicyDefinition.Validation(expression, "no match")));
        return soma.constitution.engine().evaluate(TestConstitution.tenant("standard"), definition, Map.of("capsule", Map.of("name", name)));
    }

    @Test
    void matchesIsAPartialRe2MatchAndABadPatternDenies() {
        assertThat(trial("capsule.name.matches('eath')", "weather").violation()).isEmpty();
        assertThat(trial("matches(capsule.name, '^w[a-z]+r$')", "weather").violation()).isEmpty();
        assertThat(trial("capsule.name.matches('^eath')", "weather").violation()).isPresent();
        for (int i = 0; i < 3; i++) {
            assertThat(trial("capsule.name.matches('^[a-z]+$')", i == 1 ? "Weather" : "weather").violation().isPresent()).isEqualTo(i == 1);
        }
        var broken = trial("capsule.name.matches('(')", "weather").violation();
        assertThat(broken).isPresent();
        assertThat(broken.get().message()).containsIgnoringCase("missing");
    }
}
