package io.somastack.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the official Node.js clients our tests drive (the {@code openai} client, the MCP
 * TypeScript SDK), from a directory with a committed {@code package.json} and
 * {@code package-lock.json}. Without Node.js the test is skipped with the reason, except on CI
 * ({@code CI=true}), where it is a failure, as with {@link TestModel}.
 */
public final class TestNode {
    private TestNode() {
    }

    /** What a command printed (stdout and stderr) and its exit code (-1 when it could not run or timed out). */
    public record Result(int exit, String output) {
    }

    /**
     * Requires Node.js for {@code what}, then runs {@code npm ci} in {@code directory} unless
     * {@code installed} (a path under node_modules) is already there.
     */
    public static void install(Path directory, String installed, String what) throws InterruptedException {
        if (run(List.of("node", "--version"), directory, Duration.ofSeconds(10)).exit() != 0) {
            String reason = "Node.js is not installed: " + what + " needs Node.js 20+ and npm";
            if ("true".equals(System.getenv("CI"))) {
                fail("CI=true: " + reason);
            }
            abort("Skipped: " + reason);
        }
        if (!Files.isDirectory(directory.resolve("node_modules").resolve(installed))) {
            Result install = run(List.of("npm", "ci", "--no-audit", "--no-fund"), directory, Duration.ofSeconds(300));
            assertThat(install.exit()).as("npm ci in " + directory + ": " + install.output()).isZero();
        }
    }

    /** Runs {@code command} in {@code directory}, stopping it after {@code timeout}. */
    public static Result run(List<String> command, Path directory, Duration timeout) throws InterruptedException {
        try {
            File log = Files.createTempFile("node", ".log").toFile();
            Process process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).redirectOutput(log).start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                return new Result(-1, "timed out: " + Files.readString(log.toPath()));
            }
            return new Result(process.exitValue(), Files.readString(log.toPath()));
        } catch (IOException e) {
            return new Result(-1, e.toString());
        }
    }
}
