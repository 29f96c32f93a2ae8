package io.somastack.workflows.internal;

import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.temporal.internal.testservice.GRPCServerHelper;
import io.temporal.internal.testservice.TestServicesStarter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Temporal's in-process Java service (temporal-test-server: the full gRPC API, history in memory)
 * listening on a free loopback port only. temporal-testing's {@code TestServer.createPortBoundServer}
 * listens on every interface, which would publish an unauthenticated workflow API to the network;
 * this assembles the same services behind a loopback-bound Netty server instead. Time skipping is
 * locked, so timers (an approval's wait, retry back-off) run in real time, as on a cluster.
 *
 * <p>It permits the SDK's keepalive pings ({@link #PERMITTED_PING_INTERVAL}), as a Temporal
 * cluster does. gRPC's server default allows one ping per five minutes, while the SDK pings every
 * 30 s, idle or not: the service then answered the third ping with GOAWAY {@code too_many_pings},
 * every poller of the node failed at once (a warning with a stack trace each), and the SDK doubled
 * its ping interval and reconnected, again and again over the first twenty minutes of every start.
 */
final class LoopbackTemporal implements AutoCloseable {
    /** The shortest interval between a client's keepalive pings that the service accepts: gRPC's smallest client setting. */
    static final Duration PERMITTED_PING_INTERVAL = Duration.ofSeconds(10);

    private final TestServicesStarter services;
    private final Server server;

    private LoopbackTemporal(TestServicesStarter services, Server server) {
        this.services = services;
        this.server = server;
    }

    static LoopbackTemporal start() {
        TestServicesStarter services = new TestServicesStarter(true, 0);
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                InsecureServerCredentials.create())
                .permitKeepAliveTime(PERMITTED_PING_INTERVAL.toNanos(), TimeUnit.NANOSECONDS)
                .permitKeepAliveWithoutCalls(true);
        GRPCServerHelper.registerServicesAndHealthChecks(services.getServices(), builder);
        try {
            return new LoopbackTemporal(services, builder.build().start());
        } catch (IOException e) {
            services.close();
            throw new UncheckedIOException("Cannot start the embedded Temporal service on a loopback port", e);
        }
    }

    /** The {@code host:port} the SDK connects to. */
    String target() {
        return InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.getPort();
    }

    @Override
    public void close() {
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        services.close();
    }
}
