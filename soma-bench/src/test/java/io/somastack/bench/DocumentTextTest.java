package io.somastack.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DocumentTextTest {
    @Test
    void keepsTheSentencesOfHtmlProseAndDropsCodeBlocks() {
        String page = """
                <html><head><title>Lists</title></head><body>
                <h1>More on Lists</h1>
                <p>The list data type has some more methods. Here are all of the methods of
                <code>list</code> objects.</p>
                <pre>>>> fruits = ['orange', 'apple', 'pear']
                This line is inside a code block and must not be kept.</pre>
                <p>It is also possible to use a list as a queue &amp; a stack.</p>
                </body></html>""";

        assertThat(DocumentText.HTML.texts(page)).containsExactly(
                "The list data type has some more methods.",
                "Here are all of the methods of list objects.",
                "It is also possible to use a list as a queue & a stack.");
    }

    @Test
    void stripsGroffMacrosAndSkipsUnfilledExamples() {
        String page = """
                .TH SIGNAL 7
                .SH DESCRIPTION
                A child created via
                .BR fork (2)
                inherits a copy of its parent's signal dispositions.
                .PP
                .EX
                int main(void) { return 0; }
                .EE
                The signal disposition is a per\\-process attribute.
                .PP
                It copies the string, including the terminating null wide character (L\\[aq]0\\[aq]), to the end.
                """;

        assertThat(DocumentText.MAN.texts(page)).containsExactly(
                "A child created via fork (2) inherits a copy of its parent's signal dispositions.",
                "The signal disposition is a per-process attribute.",
                "It copies the string, including the terminating null wide character (L'0'), to the end.");
    }

    @Test
    void takesWordNetGlossesAndExamplesWithoutTheirCrossReferences() {
        String entry = """
                absolute
                    adj 1: perfect or complete or pure; "absolute loyalty";
                           "an absolute guarantee to respect the nation's authority"
                           [ant: {comparative}, {relative}]
                next
                """;

        assertThat(DocumentText.WORDNET_DICTIONARY.texts(entry)).containsExactly(
                "perfect or complete or pure",
                "an absolute guarantee to respect the nation's authority");
    }

    @Test
    void dropsWebsterEtymologiesPronunciationsAndAttributions() {
        String entries = """
                Affect \\Af*fect"\\, v. t. [L. affectus, p. p. of afficere; ad + facere. See {Fact}.]
                   1. To act upon; to produce an effect or change upon.
                      [1913 Webster]

                            The climate affected their health and spirits.
                                                                  --Macaulay.
                      [1913 Webster]
                """;

        assertThat(DocumentText.WEBSTER_DICTIONARY.texts(entries)).contains("The climate affected their health and spirits.");
        assertThat(String.join("\\n", DocumentText.WEBSTER_DICTIONARY.texts(entries))).doesNotContain("Webster", "Macaulay", "affectus");
    }

    @Test
    void rejectsWordListsCodeAndFragmentsInSentenceMode() {
        assertThat(ProseSentences.isProse("Apple Banana Cherry Date Elderberry Fig.", true)).isFalse();
        assertThat(ProseSentences.isProse("Set x = foo(bar) when the flag is on.", true)).isFalse();
        assertThat(ProseSentences.isProse("the text of a gloss without an end", true)).isFalse();
        assertThat(ProseSentences.isProse("the text of a gloss without an end", false)).isTrue();
        assertThat(ProseSentences.isProse("1 2 3 4 5 6 7 8 9 10 11 12 13.", true)).isFalse();
        assertThat(ProseSentences.isProse("This value tells &app; to print the amount in words.", true)).isFalse();
    }
}
