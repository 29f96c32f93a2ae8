package io.somastack.bench;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * CPU and memory of the benchmark: this JVM (which hosts the load generator, the upstream and
 * SomaStack alike), the embedded PostgreSQL's processes (found by their data directory), and
 * the whole machine from {@code /proc/stat}, so that load from anything else on the shared
 * cores shows up as "other". Thread-safe.
 */
final class ResourceMeter {
    private final OperatingSystemMXBean system = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private final Optional<Path> postgresDataDirectory;
    private final Optional<ProcessHandle> serverProcess;

    ResourceMeter(Optional<Path> postgresDataDirectory) {
        this(postgresDataDirectory, Optional.empty());
    }

    /** With {@code serverProcess}, SomaStack's own JVM when it does not run in this one: its CPU counts as "process" CPU too. */
    ResourceMeter(Optional<Path> postgresDataDirectory, Optional<ProcessHandle> serverProcess) {
        this.postgresDataDirectory = postgresDataDirectory;
        this.serverProcess = serverProcess;
    }

    /** Cumulative counters at one moment. */
    record Snapshot(long nanoTime, long processCpuNanos, long postgresCpuNanos, long machineBusyTicks, long machineTotalTicks) {
    }

    /**
     * CPU over a window, in cores (1.0 = one core busy the whole time).
     *
     * @param machineCores cores busy machine-wide, from {@code /proc/stat}
     */
    record Usage(double processCores, double postgresCores, double machineCores, int cores) {
        /** Cores used by neither this JVM nor its PostgreSQL: other work on the machine. */
        double otherCores() {
            return Math.max(0, machineCores - processCores - postgresCores);
        }
    }

    /** Memory of this JVM after a full collection. */
    record Memory(long heapUsedAfterGcBytes, long residentBytes, long peakResidentBytes) {
    }

    Snapshot snapshot() {
        long[] machine = machineTicks();
        long server = serverProcess.flatMap(process -> process.info().totalCpuDuration()).map(Duration::toNanos).orElse(0L);
        return new Snapshot(System.nanoTime(), system.getProcessCpuTime() + server, postgresCpuNanos(), machine[0], machine[1]);
    }

    Usage between(Snapshot start, Snapshot end) {
        double wall = end.nanoTime() - start.nanoTime();
        int cores = Runtime.getRuntime().availableProcessors();
        long totalTicks = end.machineTotalTicks() - start.machineTotalTicks();
        double machineCores = totalTicks <= 0 ? Double.NaN
                : (double) (end.machineBusyTicks() - start.machineBusyTicks()) / totalTicks * machineCoreCount();
        return new Usage((end.processCpuNanos() - start.processCpuNanos()) / wall,
                (end.postgresCpuNanos() - start.postgresCpuNanos()) / wall, machineCores, cores);
    }

    /** Heap in use after a full collection, and the resident set ({@code VmRSS}, {@code VmHWM}). */
    Memory memoryAfterGc() {
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        return new Memory(heap, statusKilobytes("VmRSS:") * 1024, statusKilobytes("VmHWM:") * 1024);
    }

    /** The sum over the postmaster (whose command line names the data directory) and all its children. */
    private long postgresCpuNanos() {
        if (postgresDataDirectory.isEmpty()) {
            return 0;
        }
        String directory = postgresDataDirectory.get().toString();
        return ProcessHandle.allProcesses()
                .filter(process -> process.info().commandLine().map(line -> line.contains(directory)).orElse(false))
                .flatMap(postmaster -> Stream.concat(Stream.of(postmaster), postmaster.descendants()))
                .distinct()
                .mapToLong(process -> process.info().totalCpuDuration().map(Duration::toNanos).orElse(0L))
                .sum();
    }

    /** Busy and total jiffies of all cores; busy leaves out idle and iowait. */
    private static long[] machineTicks() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/stat"))) {
            Optional<String> total = lines.filter(line -> line.startsWith("cpu ")).findFirst();
            if (total.isEmpty()) {
                return new long[] {0, 0};
            }
            List<Long> fields = Stream.of(total.get().substring(4).trim().split("\\s+")).map(Long::parseLong).toList();
            long sum = 0;
            // user nice system idle iowait irq softirq steal [guest guest_nice, already in user and nice]
            for (int index = 0; index < Math.min(8, fields.size()); index++) {
                sum += fields.get(index);
            }
            long idle = fields.get(3) + (fields.size() > 4 ? fields.get(4) : 0);
            return new long[] {sum - idle, sum};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    /** Cores the kernel counts in {@code /proc/stat} (may exceed what this JVM may use). */
    private static int machineCoreCount() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/stat"))) {
            return (int) Math.max(1, lines.filter(line -> line.matches("cpu\\d+ .*")).count());
        } catch (IOException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    private static long statusKilobytes(String field) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/status"))) {
            return lines.filter(line -> line.startsWith(field)).findFirst()
                    .map(line -> Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0])).orElse(0L);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
