package io.somastack.server;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;

/**
 * SomaStack as {@code somastack run} starts it, in a JVM of its own on this test's class path: for
 * tests that stop or kill the process. None of the caller's {@code SOMA_*} variables reach it,
 * only {@code environment}; it logs in plain text to {@code log}.
 */
final class ServerProcess {
    private ServerProcess() {
    }

    static Process start(Path dataDir, int port, Map<String, String> environment, Path log) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder builder = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                "io.somastack.server.Main", "run", "--port", Integer.toString(port), "--data-dir", dataDir.toString());
        builder.environment().keySet().removeIf(name -> name.startsWith("SOMA_"));
        builder.environment().put("SOMA_LOG_FORMAT", "plain");
        builder.environment().putAll(environment);
        builder.redirectErrorStream(true).redirectOutput(log.toFile());
        return builder.start();
    }

    /** A loopback port free a moment ago (nothing listens on it now). */
    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
