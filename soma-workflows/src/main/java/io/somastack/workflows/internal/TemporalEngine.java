package io.somastack.workflows.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.workflows.WorkflowsConfig;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's Temporal client and worker, on a {@link TemporalConnection} (the embedded service or
 * a cluster). {@link #close()} stops the worker; the connection is closed by its owner, after.
 */
public final class TemporalEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TemporalEngine.class);

    private final WorkflowClient client;
    private final WorkerFactory factory;
    private final String taskQueue;

    public TemporalEngine(WorkflowsConfig config, TemporalConnection connection, NodeSteps steps) {
        requireNonNull(config, "config is null");
        client = WorkflowClient.newInstance(connection.stubs(), WorkflowClientOptions.newBuilder().setNamespace(config.namespace()).build());
        factory = WorkerFactory.newInstance(client);
        taskQueue = config.taskQueue();
        Worker worker = factory.newWorker(taskQueue, WorkerOptions.newBuilder()
                .setMaxConcurrentActivityExecutionSize(config.workerConcurrency()).build());
        worker.registerWorkflowImplementationTypes(JobWorkflowImpl.class);
        worker.registerActivitiesImplementations(steps);
        factory.start();
        LOG.info("Workflows: Temporal at {}, namespace {}, task queue {}", connection.describe(), config.namespace(), taskQueue);
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
    }
}
