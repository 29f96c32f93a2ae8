package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Predicate;

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

    /** A process started by {@link #launch}: its port and its log. */
    record Launched(Process process, int port, Path log) {

        /** {@link ServerProcess#awaitReadyz} of this process. */
        HttpResponse<String> awaitReadyz(Predicate<HttpResponse<String>> done) throws Exception {
            return ServerProcess.awaitReadyz(process, port, log, done);
        }
    }

    /**
     * Asks {@code /readyz} of {@code process} on {@code port} every 200 ms until {@code done} accepts
     * its answer (within 120 s) and returns that answer; fails, with {@code log}, if the process ends first.
     */
    static HttpResponse<String> awaitReadyz(Process process, int port, Path log, Predicate<HttpResponse<String>> done) throws Exception {
        HttpRequest readyz = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).timeout(Duration.ofSeconds(5)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        try (HttpClient http = HttpClient.newHttpClient()) {
            while (System.nanoTime() < deadline) {
                assertThat(process.isAlive()).as("the server died while starting: %s", Files.readString(log)).isTrue();
                try {
                    HttpResponse<String> answer = http.send(readyz, HttpResponse.BodyHandlers.ofString());
                    if (done.test(answer)) {
                        return answer;
                    }
                } catch (IOException notListeningYet) {
                    // not listening yet
                }
                Thread.sleep(200);
            }
        }
        throw new AssertionError("/readyz did not give the awaited answer within 120 s: " + Files.readString(log));
    }

    /** {@link #start} on a new temporary directory named {@code name}, a free port and a log in that directory. */
    static Launched launch(String name, Map<String, String> environment) throws IOException {
        Path dataDir = Files.createTempDirectory(name);
        Path log = dataDir.resolve("server.log");
        int port = freePort();
        return new Launched(start(dataDir.resolve("data"), port, environment, log), port, log);
    }

    /** A loopback port free a moment ago (nothing listens on it now). */
    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
