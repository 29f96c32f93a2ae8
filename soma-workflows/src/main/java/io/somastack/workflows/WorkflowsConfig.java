package io.somastack.workflows;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Team workflows: the Temporal service ({@code temporal.target} unset: the embedded in-process
 * service on a loopback port; set: {@code host:port} of a cluster, with {@code temporal.namespace}
 * and TLS), the task queue (per region), worker concurrency and the team limits.
 *
 * @param target {@code SOMA_TEMPORAL_TARGET}; empty for the embedded service
 * @param tls use TLS to the target ({@code temporal.tls}); with a client certificate when
 *        {@code temporal.tls.cert} and {@code temporal.tls.key} (PKCS#8 PEM files) are set
 * @param taskQueue {@code workflows.task-queue}, default {@code soma-jobs-<region>}
 * @param workerConcurrency {@code workflows.worker-concurrency}: activities (node runs) at once per node
 * @param maxNodes {@code workflows.max-nodes}, default 50
 * @param maxItems {@code workflows.max-items}: items of one fan-out, default 20
 */
public record WorkflowsConfig(Optional<String> target, String namespace, boolean tls, Optional<Path> tlsCert, Optional<Path> tlsKey,
        String taskQueue, int workerConcurrency, int maxNodes, int maxItems) {
    public WorkflowsConfig {
        requireNonNull(target, "target is null");
        requireNonNull(namespace, "namespace is null");
        requireNonNull(tlsCert, "tlsCert is null");
        requireNonNull(tlsKey, "tlsKey is null");
        requireNonNull(taskQueue, "taskQueue is null");
        if (tlsCert.isPresent() != tlsKey.isPresent()) {
            throw new IllegalArgumentException("temporal.tls.cert and temporal.tls.key go together");
        }
        if (workerConcurrency < 1 || maxNodes < 1 || maxItems < 1) {
            throw new IllegalArgumentException("workflows.worker-concurrency, max-nodes and max-items must be positive");
        }
    }

    public static WorkflowsConfig defaults(String region) {
        return new WorkflowsConfig(Optional.empty(), "default", false, Optional.empty(), Optional.empty(), "soma-jobs-" + region, 64, 50, 20);
    }

    /** Reads the {@code temporal.*} and {@code workflows.*} keys; problems are collected in {@code settings}. */
    public static WorkflowsConfig from(Settings settings, String region) {
        WorkflowsConfig d = defaults(region);
        try {
            return new WorkflowsConfig(settings.string("temporal.target").filter(target -> !target.isBlank()),
                    settings.string("temporal.namespace", d.namespace()),
                    settings.bool("temporal.tls", false),
                    settings.string("temporal.tls.cert").map(Path::of),
                    settings.string("temporal.tls.key").map(Path::of),
                    settings.string("workflows.task-queue", d.taskQueue()),
                    settings.integer("workflows.worker-concurrency", d.workerConcurrency(), 1, 10_000),
                    settings.integer("workflows.max-nodes", d.maxNodes(), 1, 1000),
                    settings.integer("workflows.max-items", d.maxItems(), 1, 1000));
        } catch (IllegalArgumentException e) {
            settings.problem(e.getMessage());
            return d;
        }
    }

    public WorkflowsConfig withTarget(String newTarget) {
        return new WorkflowsConfig(Optional.of(newTarget), namespace, tls, tlsCert, tlsKey, taskQueue, workerConcurrency, maxNodes, maxItems);
    }
}
