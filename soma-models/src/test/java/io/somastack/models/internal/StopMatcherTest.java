package io.somastack.models.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopMatcherTest {

    @Test
    void holdsBackAPossibleStopAndReleasesItWhenItIsNot() {
        StopMatcher matcher = new StopMatcher(List.of("\nuser:"));

        assertThat(matcher.accept("Hello")).isEqualTo("Hello");
        assertThat(matcher.accept("\nus")).isEmpty();
        assertThat(matcher.accept("ually")).isEqualTo("\nusually");
        assertThat(matcher.stopped()).isFalse();
    }

    @Test
    void stopsBeforeTheStopSequenceEvenWhenItSpansPieces() {
        StopMatcher matcher = new StopMatcher(List.of("END", "\nuser:"));

        assertThat(matcher.accept("The story ")).isEqualTo("The story ");
        assertThat(matcher.accept("is done.\nuse")).isEqualTo("is done.");
        assertThat(matcher.accept("r: more")).isEmpty();
        assertThat(matcher.stopped()).isTrue();
        assertThat(matcher.flush()).isEmpty();
    }

    @Test
    void flushesHeldBackTextAtTheEnd() {
        StopMatcher matcher = new StopMatcher(List.of("END"));

        assertThat(matcher.accept("THE EN")).isEqualTo("THE ");
        assertThat(matcher.flush()).isEqualTo("EN");
    }
}
