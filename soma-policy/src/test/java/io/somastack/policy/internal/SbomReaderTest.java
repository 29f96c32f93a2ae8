package io.somastack.policy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.keyword.DisallowUnknownKeywordFactory;
import io.somastack.policy.TestCapsules;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class SbomReaderTest {

    /**
     * The CycloneDX schemas load and check real SBOMs with unknown keywords made an error, so the
     * reader's dialect names every keyword they use: none is left for the validator to warn about.
     */
    @Test
    void itsDialectKnowsEveryKeywordOfTheCycloneDxSchemas() {
        Dialect strict = Dialect.builder(SbomReader.DIALECT).unknownKeywordFactory(DisallowUnknownKeywordFactory.getInstance()).build();
        SbomReader reader = new SbomReader(strict);

        // One real SBOM of each version read (1.6 and 1.5).
        for (String fixture : new String[] {"is-number.cdx.json", "with-gpl.cdx.json"}) {
            assertThat(reader.read(TestCapsules.sbom(fixture).getBytes(StandardCharsets.UTF_8)).components()).as(fixture).isNotEmpty();
        }
    }
}
