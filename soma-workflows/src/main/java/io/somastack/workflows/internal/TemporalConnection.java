package io.somastack.workflows.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.workflows.WorkflowsConfig;
import io.temporal.serviceclient.SimpleSslContextBuilder;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Optional;

/**
 * The gRPC stubs of the Temporal service, and the embedded service itself when there is no
 * target: without a target it starts Temporal's in-process Java service (temporal-testing's test
 * server: full gRPC API, history in memory) on a loopback port, so the SDK speaks real gRPC either
 * way: one code path for the embedded engine and a cluster. {@link #close()} stops the stubs,
 * then the embedded service.
 */
public final class TemporalConnection implements AutoCloseable {
    private final Optional<LoopbackTemporal> embedded;
    private final WorkflowServiceStubs stubs;
    private final String target;

    private TemporalConnection(Optional<LoopbackTemporal> embedded, WorkflowServiceStubs stubs, String target) {
        this.embedded = embedded;
        this.stubs = stubs;
        this.target = target;
    }

    public static TemporalConnection open(WorkflowsConfig config) {
        requireNonNull(config, "config is null");
        Optional<LoopbackTemporal> embedded = config.target().isPresent() ? Optional.empty() : Optional.of(LoopbackTemporal.start());
        String target = config.target().orElseGet(() -> embedded.orElseThrow().target());
        try {
            WorkflowServiceStubsOptions.Builder options = WorkflowServiceStubsOptions.newBuilder().setTarget(target);
            if (config.tls()) {
                options.setSslContext(ssl(config));
            }
            return new TemporalConnection(embedded, WorkflowServiceStubs.newServiceStubs(options.build()), target);
        } catch (RuntimeException e) {
            embedded.ifPresent(LoopbackTemporal::close);
            throw e;
        }
    }

    private static io.grpc.netty.shaded.io.netty.handler.ssl.SslContext ssl(WorkflowsConfig config) {
        try {
            if (config.tlsCert().isPresent()) {
                try (InputStream cert = Files.newInputStream(config.tlsCert().get()); InputStream key = Files.newInputStream(config.tlsKey().get())) {
                    return SimpleSslContextBuilder.forPKCS8(cert, key).build();
                }
            }
            return SimpleSslContextBuilder.noKeyOrCertChain().build();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the Temporal TLS certificate or key: " + e.getMessage(), e);
        }
    }

    WorkflowServiceStubs stubs() {
        return stubs;
    }

    /** {@code host:port}, and whether it is the embedded service, for the log. */
    String describe() {
        return "%s (%s)".formatted(target, embedded.isPresent() ? "embedded, in memory" : "cluster");
    }

    @Override
    public void close() {
        stubs.shutdownNow();
        embedded.ifPresent(LoopbackTemporal::close);
    }
}
