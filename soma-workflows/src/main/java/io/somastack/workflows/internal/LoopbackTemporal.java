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
import java.util.concurrent.TimeUnit;

/**
 * Temporal's in-process Java service (temporal-test-server: the full gRPC API, history in memory)
 * listening on a free loopback port only. temporal-testing's {@code TestServer.createPortBoundServer}
 * listens on every interface, which would publish an unauthenticated workflow API to the network;
 * this assembles the same services behind a loopback-bound Netty server instead. Time skipping is
 * locked, so timers (an approval's wait, retry back-off) run in real time, as on a cluster.
 */
final class LoopbackTemporal implements AutoCloseable {
    private final TestServicesStarter services;
    private final Server server;

    private LoopbackTemporal(TestServicesStarter services, Server server) {
        this.services = services;
        this.server = server;
    }

    static LoopbackTemporal start() {
        TestServicesStarter services = new TestServicesStarter(true, 0);
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                InsecureServerCredentials.create());
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
