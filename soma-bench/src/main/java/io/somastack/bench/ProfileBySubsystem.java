package io.somastack.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Sorts the CPU samples of a JFR recording by thread and by subsystem: each sample goes to the innermost
 * frame of its stack that belongs to a known subsystem (the JDK's own classes are skipped
 * until one is found, so a socket write counts for whoever wrote). Prints each subsystem's
 * share and its hottest innermost frames. Uses {@code jdk.CPUTimeSample} (CPU time, native
 * code included) when the recording has it, else {@code jdk.ExecutionSample}.
 *
 * <pre>
 * java -XX:StartFlightRecording=settings=profile,jdk.CPUTimeSample#enabled=true,filename=gateway.jfr ... GatewayOverheadBenchmark ...
 * java -cp 'soma-bench/target/soma-bench-0.1.0-SNAPSHOT.jar' io.somastack.bench.ProfileBySubsystem gateway.jfr [top frames 5] [window]
 * </pre>
 * {@code window} keeps only samples from {@code from} to {@code to} seconds before the recording's
 * last sample, e.g. {@code 27-2}: the last measured phase of a gateway benchmark run, without
 * start-up and shutdown.
 */
public final class ProfileBySubsystem {
    /** Innermost match wins; order matters only among prefixes of one another. */
    private static final Map<String, String> SUBSYSTEMS = subsystems();

    private static Map<String, String> subsystems() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put("io.somastack.bench.", "benchmark: load generator and fixed-reply upstream");
        map.put("sun.net.httpserver.", "benchmark: fixed-reply upstream (JDK HTTP server)");
        map.put("com.sun.net.httpserver.", "benchmark: fixed-reply upstream (JDK HTTP server)");
        map.put("jdk.internal.net.http.", "upstream client: JDK HttpClient");
        map.put("java.net.http.", "upstream client: JDK HttpClient");
        map.put("org.eclipse.jetty.client.", "upstream client: Jetty HttpClient");
        map.put("tools.jackson.", "JSON (Jackson)");
        map.put("com.fasterxml.jackson.", "JSON (Jackson)");
        map.put("io.javalin.json.", "JSON (Jackson)");
        map.put("org.postgresql.", "PostgreSQL client (JDBC, Hikari, JDBI)");
        map.put("com.zaxxer.hikari.", "PostgreSQL client (JDBC, Hikari, JDBI)");
        map.put("org.jdbi.", "PostgreSQL client (JDBC, Hikari, JDBI)");
        map.put("com.knuddels.jtokkit.", "token counting (jtokkit)");
        map.put("io.micrometer.", "metrics (Micrometer)");
        map.put("ch.qos.logback.", "logging");
        map.put("org.slf4j.", "logging");
        map.put("io.github.bucket4j.", "rate limits (Bucket4j)");
        map.put("io.github.resilience4j.", "circuit breakers (resilience4j)");
        map.put("io.somastack.", "SomaStack code");
        map.put("io.javalin.", "HTTP edge: Jetty server and Javalin");
        map.put("org.eclipse.jetty.", "HTTP edge: Jetty server and Javalin");
        map.put("jakarta.servlet.", "HTTP edge: Jetty server and Javalin");
        map.put("java.util.concurrent.ForkJoin", "JDK: virtual-thread scheduler");
        map.put("java.lang.VirtualThread", "JDK: virtual-thread scheduler");
        map.put("jdk.internal.vm.Continuation", "JDK: virtual-thread scheduler");
        return map;
    }

    private ProfileBySubsystem() {
    }

    public static void main(String[] arguments) throws IOException {
        Path file = Path.of(arguments[0]);
        int topFrames = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 5;
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        String kind = events.stream().anyMatch(event -> event.getEventType().getName().equals("jdk.CPUTimeSample"))
                ? "jdk.CPUTimeSample" : "jdk.ExecutionSample";
        if (arguments.length > 2) {
            String[] window = arguments[2].split("-");
            Instant last = events.stream().filter(event -> event.getEventType().getName().equals(kind)).map(RecordedEvent::getStartTime)
                    .max(Comparator.naturalOrder()).orElseThrow();
            Instant from = last.minusSeconds(Long.parseLong(window[0]));
            Instant to = last.minusSeconds(Long.parseLong(window[1]));
            events = events.stream().filter(event -> !event.getStartTime().isBefore(from) && !event.getStartTime().isAfter(to)).toList();
        }
        Map<String, Long> bySubsystem = new HashMap<>();
        Map<String, Long> byThread = new HashMap<>();
        Map<String, Map<String, Long>> frames = new HashMap<>();
        long total = 0;
        for (RecordedEvent event : events) {
            if (!event.getEventType().getName().equals(kind) || event.getStackTrace() == null) {
                continue;
            }
            RecordedStackTrace stack = event.getStackTrace();
            String subsystem = null;
            for (RecordedFrame frame : stack.getFrames()) {
                if (!frame.isJavaFrame()) {
                    continue;
                }
                String type = frame.getMethod().getType().getName();
                subsystem = subsystemOf(type);
                if (subsystem != null) {
                    break;
                }
            }
            if (subsystem == null) {
                subsystem = "JDK/other";
            }
            // Jetty's I/O classes serve its client and its server alike: the client's when it is on the stack.
            if (subsystem.startsWith("HTTP edge") && stack.getFrames().stream()
                    .anyMatch(frame -> frame.isJavaFrame() && frame.getMethod().getType().getName().startsWith("org.eclipse.jetty.client."))) {
                subsystem = "upstream client: Jetty HttpClient";
            }
            String innermost = stack.getFrames().isEmpty() ? "(no frame)" : describe(stack.getFrames().getFirst());
            bySubsystem.merge(subsystem, 1L, Long::sum);
            byThread.merge(threadOf(event, kind), 1L, Long::sum);
            frames.computeIfAbsent(subsystem, ignored -> new HashMap<>()).merge(innermost, 1L, Long::sum);
            total++;
        }
        System.out.printf("%s: %d samples in %s%n%n| subsystem | samples | share |%n|---|---:|---:|%n", kind, total, file);
        long all = Math.max(1, total);
        bySubsystem.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(entry -> System.out.printf("| %s | %d | %.1f%% |%n", entry.getKey(), entry.getValue(), 100.0 * entry.getValue() / all));
        System.out.printf("%n| thread (numbers as N) | samples | share |%n|---|---:|---:|%n");
        byThread.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(15)
                .forEach(entry -> System.out.printf("| %s | %d | %.1f%% |%n", entry.getKey(), entry.getValue(), 100.0 * entry.getValue() / all));
        System.out.println();
        bySubsystem.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).forEach(entry -> {
            System.out.printf("%s (%.1f%%):%n", entry.getKey(), 100.0 * entry.getValue() / all);
            frames.get(entry.getKey()).entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()
                    .thenComparing(Map.Entry.comparingByKey(Comparator.naturalOrder()))).limit(topFrames)
                    .forEach(frame -> System.out.printf("    %5.1f%%  %s%n", 100.0 * frame.getValue() / all, frame.getKey()));
        });
    }

    private static String subsystemOf(String type) {
        for (Map.Entry<String, String> entry : SUBSYSTEMS.entrySet()) {
            if (type.startsWith(entry.getKey())) {
                // SomaStack's own code is told apart by module: io.somastack.<module>.
                return entry.getKey().equals("io.somastack.") ? "SomaStack code: " + type.split("\\.")[2] : entry.getValue();
            }
        }
        return null;
    }

    /** The sampled thread's name, its numbers as N so a pool's threads count together. */
    private static String threadOf(RecordedEvent event, String kind) {
        var thread = event.getThread(kind.equals("jdk.CPUTimeSample") ? "eventThread" : "sampledThread");
        String name = thread == null ? null : thread.getJavaName() != null ? thread.getJavaName() : thread.getOSName();
        return name == null ? "(unknown)" : name.replaceAll("\\d+", "N");
    }

    private static String describe(RecordedFrame frame) {
        return frame.getMethod().getType().getName() + "." + frame.getMethod().getName();
    }
}
