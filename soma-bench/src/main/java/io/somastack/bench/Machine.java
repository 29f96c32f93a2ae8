package io.somastack.bench;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The facts about the machine and JVM a benchmark number needs beside it.
 *
 * @param cores processors this JVM may use ({@code nproc})
 * @param cpuModel the {@code model name} of {@code /proc/cpuinfo}
 * @param memoryBytes physical memory
 * @param operatingSystem name, version and architecture
 * @param jdk vendor, VM and full version
 * @param jvmArguments the flags this JVM was started with
 * @param maxHeapBytes the heap limit
 */
record Machine(int cores, String cpuModel, long memoryBytes, String operatingSystem, String jdk, List<String> jvmArguments,
        long maxHeapBytes) {

    Machine {
        jvmArguments = List.copyOf(jvmArguments);
    }

    static Machine current() {
        OperatingSystemMXBean system = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return new Machine(
                Runtime.getRuntime().availableProcessors(),
                readCpuModel(),
                system.getTotalMemorySize(),
                "%s %s (%s)".formatted(System.getProperty("os.name"), System.getProperty("os.version"), System.getProperty("os.arch")),
                "%s %s %s".formatted(System.getProperty("java.vendor"), System.getProperty("java.vm.name"), Runtime.version()),
                ManagementFactory.getRuntimeMXBean().getInputArguments(),
                Runtime.getRuntime().maxMemory());
    }

    /** The 1, 5 and 15 minute load averages of {@code /proc/loadavg}, to print beside a figure measured on a shared machine. */
    static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return "%s, %s, %s".formatted(fields[0], fields[1], fields[2]);
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    private static String readCpuModel() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(line -> line.startsWith("model name")).findFirst()
                    .map(line -> line.substring(line.indexOf(':') + 1).trim()).orElse("unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
