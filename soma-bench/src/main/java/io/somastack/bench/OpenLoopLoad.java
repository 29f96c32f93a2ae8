package io.somastack.bench;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * An open-loop load generator: request {@code i} is due at {@code start + i / rate} whatever
 * happened to the requests before it, and its latency is measured from that due time, not
 * from when a connection got round to sending it. A server that falls behind therefore shows
 * its queueing in the latencies instead of slowing the generator down (no coordinated
 * omission). One platform thread schedules; a fixed pool of keep-alive connections, each
 * driven by a virtual thread, takes due requests from one queue. Requests scheduled in the
 * warm-up are sent but not recorded. Every progress line (each 5 s) also gives the latency of
 * the answers that came since the line before, warm-up included, so that a server's warm-up
 * shows as it happens. Not thread-safe: one run at a time.
 */
final class OpenLoopLoad {
    private static final long HIGHEST_LATENCY_NANOS = TimeUnit.SECONDS.toNanos(120);
    private static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(5);
    /** How long after the window late answers are still awaited before they count as errors. */
    static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);

    private final Target target;
    private final int connections;
    private final Duration readTimeout;
    private final Duration drainTimeout;
    private final PrintStream progress;
    private final Duration progressInterval;

    OpenLoopLoad(Target target, int connections, Duration readTimeout, Duration drainTimeout, PrintStream progress) {
        this(target, connections, readTimeout, drainTimeout, progress, PROGRESS_INTERVAL);
    }

    OpenLoopLoad(Target target, int connections, Duration readTimeout, Duration drainTimeout, PrintStream progress,
            Duration progressInterval) {
        this.target = requireNonNull(target, "target is null");
        this.connections = connections;
        this.readTimeout = requireNonNull(readTimeout, "readTimeout is null");
        this.drainTimeout = requireNonNull(drainTimeout, "drainTimeout is null");
        this.progress = requireNonNull(progress, "progress is null");
        this.progressInterval = requireNonNull(progressInterval, "progressInterval is null");
    }

    /** Called by the thread that runs the load when the measured window opens and closes. */
    interface WindowListener {
        void opened();

        void closed();
    }

    /** Runs the warm-up, then the measured window, then waits (at most the drain timeout) for late answers. */
    LoadResult run(int rate, Duration warmup, Duration duration, WindowListener listener) throws InterruptedException {
        double intervalNanos = 1e9 / rate;
        long warmupCount = Math.round(warmup.toNanos() / intervalNanos);
        long measuredCount = Math.max(1, Math.round(duration.toNanos() / intervalNanos));
        // Give the workers a moment to connect before the first request is due.
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        long windowStart = start + Math.round(warmupCount * intervalNanos);
        long windowEnd = start + Math.round((warmupCount + measuredCount) * intervalNanos);
        Run run = new Run(windowStart, windowEnd);

        List<Thread> workers = new ArrayList<>(connections);
        for (int index = 0; index < connections; index++) {
            workers.add(Thread.ofVirtual().name("load-%s-%d".formatted(target.name().toLowerCase(), index)).start(run::work));
        }
        Thread scheduler = Thread.ofPlatform().name("load-scheduler").daemon().start(() -> {
            for (long index = 0; index < warmupCount + measuredCount; index++) {
                long due = start + Math.round(index * intervalNanos);
                for (long now = System.nanoTime(); now < due; now = System.nanoTime()) {
                    LockSupport.parkNanos(due - now);
                }
                run.queue.add(due);
            }
        });
        scheduler.setPriority(Thread.MAX_PRIORITY);

        String phase = "[%d req/s %s]".formatted(rate, target.name());
        long nextReport = start;
        boolean opened = false;
        while (System.nanoTime() < windowEnd) {
            long now = System.nanoTime();
            if (!opened && now >= windowStart) {
                listener.opened();
                opened = true;
            }
            if (now >= nextReport) {
                report(phase, run, now, start, windowStart, warmup, duration);
                nextReport += progressInterval.toNanos();
            }
            long wake = Math.min(windowEnd, opened ? nextReport : Math.min(nextReport, windowStart));
            LockSupport.parkNanos(Math.max(0, wake - System.nanoTime()));
        }
        if (!opened) {
            listener.opened();
        }
        listener.closed();
        scheduler.join();

        long drainDeadline = System.nanoTime() + drainTimeout.toNanos();
        while (run.measuredAnswers.sum() < measuredCount && System.nanoTime() < drainDeadline) {
            Thread.sleep(20);
        }
        run.stopped = true;
        run.open.forEach(HttpConnection::close);
        for (Thread worker : workers) {
            worker.interrupt();
            worker.join();
        }
        long unanswered = measuredCount - run.measuredAnswers.sum();
        if (unanswered > 0) {
            String kind = "no answer within %d s after the window".formatted(drainTimeout.toSeconds());
            run.errors.computeIfAbsent(kind, ignored -> new LongAdder()).add(unanswered);
        }
        long warmupErrors = run.warmupErrors.sum();
        if (warmupErrors > 0) {
            progress.printf("%s %d requests failed during the warm-up (not counted)%n", phase, warmupErrors);
        }
        Map<String, Long> errors = new ConcurrentHashMap<>();
        run.errors.forEach((kind, count) -> errors.put(kind, count.sum()));
        Histogram latencies = run.latencies.copy();
        return new LoadResult(target, rate, measuredCount, latencies.getTotalCount(), errors, latencies,
                run.answeredInWindow.sum(), Duration.ofNanos(windowEnd - windowStart));
    }

    private void report(String phase, Run run, long now, long start, long windowStart, Duration warmup, Duration duration) {
        String stage = now < windowStart
                ? "warm-up %d/%d s".formatted(Math.max(0, now - start) / 1_000_000_000L, warmup.toSeconds())
                : "measuring %d/%d s".formatted((now - windowStart) / 1_000_000_000L, duration.toSeconds());
        long errors = run.errors.values().stream().mapToLong(LongAdder::sum).sum();
        Histogram recent = run.recent.getIntervalHistogram();
        String latency = recent.getTotalCount() == 0 ? ""
                : "; the %d answered since the line before: p50 %.3f ms, p99 %.3f ms, max %.3f ms".formatted(recent.getTotalCount(),
                        recent.getValueAtPercentile(50) / 1e6, recent.getValueAtPercentile(99) / 1e6, recent.getMaxValue() / 1e6);
        progress.printf("%s %s: %d answered, %d errors, %d waiting for a connection%s%n", phase, stage,
                run.answers.sum(), errors, run.queue.size(), latency);
    }

    /** The state shared by the scheduler and the workers of one run. */
    private final class Run {
        final long windowStart;
        final long windowEnd;
        final BlockingQueue<Long> queue = new LinkedBlockingQueue<>();
        final Set<HttpConnection> open = ConcurrentHashMap.newKeySet();
        final ConcurrentHistogram latencies = new ConcurrentHistogram(HIGHEST_LATENCY_NANOS, 3);
        /** Every successful answer's latency, warm-up included, read and reset by each progress line. */
        final Recorder recent = new Recorder(HIGHEST_LATENCY_NANOS, 3);
        final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        final LongAdder answers = new LongAdder();
        final LongAdder measuredAnswers = new LongAdder();
        final LongAdder warmupErrors = new LongAdder();
        final LongAdder answeredInWindow = new LongAdder();
        volatile boolean stopped;

        Run(long windowStart, long windowEnd) {
            this.windowStart = windowStart;
            this.windowEnd = windowEnd;
        }

        void work() {
            HttpConnection connection = null;
            try {
                while (!stopped) {
                    long due = queue.take();
                    int status = 0;
                    String failure = null;
                    try {
                        if (connection == null) {
                            connection = HttpConnection.open(target.address(), readTimeout);
                            open.add(connection);
                        }
                        try {
                            status = connection.exchange(target.request());
                        } catch (HttpConnection.StaleConnectionException e) {
                            close(connection);
                            connection = HttpConnection.open(target.address(), readTimeout);
                            open.add(connection);
                            status = connection.exchange(target.request());
                        }
                        if (!connection.reusable()) {
                            connection = close(connection);
                        }
                    } catch (IOException | RuntimeException e) {
                        failure = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
                        connection = close(connection);
                    }
                    long answered = System.nanoTime();
                    if (stopped) {
                        return;
                    }
                    answers.increment();
                    boolean success = failure == null && status == 200;
                    if (success) {
                        recent.recordValue(Math.min(answered - due, HIGHEST_LATENCY_NANOS));
                    }
                    if (success && answered >= windowStart && answered < windowEnd) {
                        answeredInWindow.increment();
                    }
                    if (due < windowStart) {
                        if (!success) {
                            warmupErrors.increment();
                        }
                        continue;
                    }
                    if (success) {
                        latencies.recordValue(Math.min(answered - due, HIGHEST_LATENCY_NANOS));
                    } else {
                        failure(failure != null ? failure : "HTTP " + status);
                    }
                    measuredAnswers.increment();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                close(connection);
            }
        }

        void failure(String kind) {
            errors.computeIfAbsent(kind, ignored -> new LongAdder()).increment();
        }

        private HttpConnection close(HttpConnection connection) {
            if (connection != null) {
                open.remove(connection);
                connection.close();
            }
            return null;
        }
    }
}
