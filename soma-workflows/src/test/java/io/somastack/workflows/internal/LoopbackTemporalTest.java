package io.somastack.workflows.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.temporal.api.workflowservice.v1.GetSystemInfoRequest;
import io.temporal.api.workflowservice.v1.WorkflowServiceGrpc;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * The embedded Temporal service as a client of it sees it over gRPC. Runs beside the module's
 * other classes (see junit-platform.properties): its 35 s are mostly waiting for pings.
 */
@Execution(ExecutionMode.CONCURRENT)
class LoopbackTemporalTest {

    @Test
    void acceptsTheKeepalivePingsOfTheSdk() {
        assertThat(LoopbackTemporal.PERMITTED_PING_INTERVAL).isLessThanOrEqualTo(WorkflowServiceStubsOptions.newBuilder().build().getKeepAliveTime());
    }

    /**
     * A client that pings every 10 s (gRPC's shortest setting; the SDK pings every 30 s) stays
     * connected past its third ping, where a service on gRPC's defaults sends GOAWAY
     * {@code too_many_pings} and the connection drops. Takes 35 s: pings cannot come faster.
     */
    @Test
    void keepsAConnectionThatPingsEveryTenSecondsOpen() throws InterruptedException {
        try (LoopbackTemporal temporal = LoopbackTemporal.start()) {
            ManagedChannel channel = NettyChannelBuilder.forTarget(temporal.target()).usePlaintext()
                    .keepAliveTime(10, TimeUnit.SECONDS).keepAliveTimeout(5, TimeUnit.SECONDS).keepAliveWithoutCalls(true).build();
            try {
                WorkflowServiceGrpc.newBlockingStub(channel).getSystemInfo(GetSystemInfoRequest.getDefaultInstance());
                assertThat(channel.getState(false)).isEqualTo(ConnectivityState.READY);
                CountDownLatch left = new CountDownLatch(1);
                channel.notifyWhenStateChanged(ConnectivityState.READY, left::countDown);

                assertThat(left.await(35, TimeUnit.SECONDS)).as("the connection left READY within 35 s of pings (now %s)", channel.getState(false))
                        .isFalse();
                WorkflowServiceGrpc.newBlockingStub(channel).getSystemInfo(GetSystemInfoRequest.getDefaultInstance());
            } finally {
                channel.shutdownNow();
            }
        }
    }
}
