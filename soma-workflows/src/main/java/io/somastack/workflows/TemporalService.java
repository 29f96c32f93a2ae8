package io.somastack.workflows;

import static java.util.Objects.requireNonNull;

import io.somastack.workflows.internal.TemporalConnection;

/**
 * The Temporal service a node's jobs run on, connected: the embedded in-process service (no
 * {@code temporal.target}) started on a loopback port, or a cluster's address. It needs nothing
 * else of the node, so the server starts it in parallel with the database and hands it to
 * {@link Workflows#start(TemporalService)}; {@link #close()} after the {@link Workflows} that uses
 * it. Thread-safe.
 */
public final class TemporalService implements AutoCloseable {
    private final TemporalConnection connection;

    private TemporalService(TemporalConnection connection) {
        this.connection = connection;
    }

    /** Starts the embedded service, or connects to {@code config.target()}. */
    public static TemporalService start(WorkflowsConfig config) {
        requireNonNull(config, "config is null");
        return new TemporalService(TemporalConnection.open(config));
    }

    TemporalConnection connection() {
        return connection;
    }

    @Override
    public void close() {
        connection.close();
    }
}
