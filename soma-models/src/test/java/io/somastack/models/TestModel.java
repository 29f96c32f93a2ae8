package io.somastack.models;

import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the real tiny test model, {@code stories260K.gguf}: from {@code SOMA_TEST_MODEL}, else
 * in {@code shared/models} of the working directory or any directory above it (tests run in
 * the module directory; the shared folder sits beside the repository). Without it the test is
 * skipped with the reason, except on CI ({@code CI=true}), where a missing model is a failure.
 */
public final class TestModel {
    private static final String FILE = "stories260K.gguf";

    private TestModel() {
    }

    public static Path path() {
        String configured = System.getenv("SOMA_TEST_MODEL");
        if (configured != null && !configured.isBlank()) {
            Path path = Path.of(configured);
            if (Files.isRegularFile(path)) {
                return path;
            }
            return missing("SOMA_TEST_MODEL=%s does not name a file".formatted(configured));
        }
        for (Path directory = Path.of("").toAbsolutePath(); directory != null; directory = directory.getParent()) {
            Path candidate = directory.resolve("shared").resolve("models").resolve(FILE);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        return missing("%s not found in shared/models above %s and SOMA_TEST_MODEL is not set"
                .formatted(FILE, Path.of("").toAbsolutePath()));
    }

    private static Path missing(String reason) {
        if ("true".equals(System.getenv("CI"))) {
            return fail("The test model is required on CI: " + reason);
        }
        abort("Skipped: " + reason);
        return null;
    }
}
