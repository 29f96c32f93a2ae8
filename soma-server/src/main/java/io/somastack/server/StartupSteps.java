package io.somastack.server;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The start-up's step log ("Start-up: ... at N ms", from the start of {@code SomaServer.build}) and
 * its parts that start in parallel with the rest, each on its own platform thread (loading a model
 * or compiling runs native code and would pin a virtual thread's carrier). A part that fails
 * logs its failure under its own name and fails start-up with its own exception when awaited.
 * Used by the building thread only, apart from the parts themselves.
 */
final class StartupSteps {
    private static final Logger LOG = LoggerFactory.getLogger(StartupSteps.class);

    private final long started = System.nanoTime();
    private final List<Part<?>> parts = new ArrayList<>();

    /** A part under way; {@code awaited} once the building thread took over its result (and closing it). */
    static final class Part<T> {
        private final String name;
        private final CompletableFuture<T> result = new CompletableFuture<>();
        private boolean awaited;

        private Part(String name) {
            this.name = name;
        }
    }

    /** Starts {@code task} now on its own thread; its completion is logged as the step {@code name}. */
    <T> Part<T> inParallel(String name, Supplier<T> task) {
        Part<T> part = new Part<>(name);
        parts.add(part);
        Thread.ofPlatform().name("start-up: " + name).start(() -> {
            try {
                T value = task.get();
                step(name);
                part.result.complete(value);
            } catch (Throwable e) {
                LOG.error("Start-up: {} failed after {} ms: {}", name, elapsedMillis(), e.toString());
                part.result.completeExceptionally(e);
            }
        });
        return part;
    }

    /** The part's value once it is done; a part that failed throws its own exception (unchecked as it was thrown). */
    <T> T await(Part<T> part) {
        part.awaited = true;
        try {
            return part.result.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }

    /**
     * Logs when this process started, before {@code SomaServer.build} (a negative time): what the
     * launcher script, the JVM, the command line and the configuration took, since the launcher
     * execs the JVM in its own process.
     */
    void processStarted() {
        ProcessHandle.current().info().startInstant().ifPresent(start -> LOG.info(
                "Start-up: process started (launcher, JVM, command line, configuration) at -{} ms",
                Duration.between(start, Instant.now()).toMillis() - elapsedMillis()));
    }

    /** Logs that the building thread reached {@code name}. */
    void step(String name) {
        LOG.info("Start-up: {} at {} ms", name, elapsedMillis());
    }

    long elapsedMillis() {
        return (System.nanoTime() - started) / 1_000_000;
    }

    /**
     * After a failed start: waits for the parts not yet awaited and closes what they made
     * (newest first), so a failed start leaves no model, index or service behind.
     */
    void abandon() {
        for (Part<?> part : parts.reversed()) {
            if (part.awaited) {
                continue;
            }
            Object value;
            try {
                value = part.result.join();
            } catch (RuntimeException e) {
                continue; // its failure is logged already
            }
            if (value instanceof AutoCloseable closeable) {
                try {
                    closeable.close();
                } catch (Exception e) {
                    LOG.warn("Error while closing {} after a failed start: {}", part.name, e.getMessage());
                }
            }
        }
    }
}
