package io.somastack.workflows.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.workflows.WorkflowsConfig;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.SimpleSslContextBuilder;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Temporal service a node's jobs run on, and this node's worker. Without a target it starts
 * Temporal's in-process Java service (temporal-testing's test server: full gRPC API, history in
 * memory) on a loopback port, so the SDK speaks real gRPC either way: one code path for the
 * embedded engine and a cluster. {@link #close()} stops the worker, then the service.
 */
public final class TemporalEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TemporalEngine.class);

    private final Optional<LoopbackTemporal> embedded;
    private final WorkflowServiceStubs service;
    private final WorkflowClient client;
    private final WorkerFactory factory;
    private final String taskQueue;

    public TemporalEngine(WorkflowsConfig config, NodeSteps steps) {
        requireNonNull(config, "config is null");
        String target;
        if (config.target().isPresent()) {
            embedded = Optional.empty();
            target = config.target().get();
        } else {
            LoopbackTemporal local = LoopbackTemporal.start();
            embedded = Optional.of(local);
            target = local.target();
        }
        WorkflowServiceStubsOptions.Builder options = WorkflowServiceStubsOptions.newBuilder().setTarget(target);
        if (config.tls()) {
            options.setSslContext(ssl(config));
        }
        service = WorkflowServiceStubs.newServiceStubs(options.build());
        client = WorkflowClient.newInstance(service, WorkflowClientOptions.newBuilder().setNamespace(config.namespace()).build());
        factory = WorkerFactory.newInstance(client);
        taskQueue = config.taskQueue();
        Worker worker = factory.newWorker(taskQueue, WorkerOptions.newBuilder()
                .setMaxConcurrentActivityExecutionSize(config.workerConcurrency()).build());
        worker.registerWorkflowImplementationTypes(JobWorkflowImpl.class);
        worker.registerActivitiesImplementations(steps);
        factory.start();
        LOG.info("Workflows: Temporal at {} ({}), namespace {}, task queue {}", target, embedded.isPresent() ? "embedded, in memory" : "cluster",
                config.namespace(), taskQueue);
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

    public WorkflowClient client() {
        return client;
    }

    public String taskQueue() {
        return taskQueue;
    }

    @Override
    public void close() {
        factory.shutdownNow();
        service.shutdownNow();
        embedded.ifPresent(LoopbackTemporal::close);
    }
}
