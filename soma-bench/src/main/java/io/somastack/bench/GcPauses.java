package io.somastack.bench;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Stop-the-world garbage-collection time of this JVM, read from its collector beans: with G1,
 * "G1 Young Generation" and "G1 Old Generation" count pauses; with ZGC, the "... Pauses" beans
 * do. Beans of concurrent work ("G1 Concurrent GC", ZGC's "... Cycles") are left out: they do
 * not stop request threads. The load generator, the upstream and SomaStack share this JVM, so a
 * pause stops all three at once.
 */
final class GcPauses {
    private final List<GarbageCollectorMXBean> pausing = ManagementFactory.getGarbageCollectorMXBeans().stream()
            .filter(bean -> !bean.getName().contains("Concurrent") && !bean.getName().contains("Cycles")).toList();

    /** Milliseconds of pauses so far. */
    long millis() {
        return pausing.stream().mapToLong(GarbageCollectorMXBean::getCollectionTime).sum();
    }

    /** Pauses so far. */
    long count() {
        return pausing.stream().mapToLong(GarbageCollectorMXBean::getCollectionCount).sum();
    }

    /** The beans counted, for the report. */
    String names() {
        return pausing.stream().map(GarbageCollectorMXBean::getName).collect(Collectors.joining(", "));
    }
}
