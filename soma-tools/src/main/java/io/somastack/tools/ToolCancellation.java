package io.somastack.tools;

import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.MDC;

/**
 * Lets a caller stop a tool call in flight: {@link #cancel()} interrupts the executor's thread
 * (a WebAssembly module is stopped at its next loop head, an HTTP request is aborted, an MCP wait
 * ends), and the call ends {@code tool.failed} with reason {@code cancelled}, still metered. The
 * executor runs on a thread of its own so that the interrupt never reaches the caller's thread,
 * which goes on to write the call's ledger row and audit entry. One per call; thread-safe.
 *
 * <pre>{@code
 * ToolCancellation cancellation = new ToolCancellation();
 * // on another thread, when the client cancels: cancellation.cancel();
 * ToolResult result = broker.call(caller, installed, "search", arguments, sink, cancellation);
 * }</pre>
 */
public final class ToolCancellation {
    private final AtomicReference<Thread> running = new AtomicReference<>();
    private volatile boolean cancelled;

    /** Stops the call: interrupts its executor if it is running, or stops it as soon as it starts. */
    public void cancel() {
        cancelled = true;
        Thread thread = running.get();
        if (thread != null) {
            thread.interrupt();
        }
    }

    public boolean cancelled() {
        return cancelled;
    }

    /** Runs {@code work} on a virtual thread of its own (with this thread's log context) that {@link #cancel()} interrupts. */
    <T> T run(Callable<T> work) {
        Map<String, String> context = MDC.getCopyOfContextMap();
        FutureTask<T> task = new FutureTask<>(() -> {
            if (context != null) {
                MDC.setContextMap(context);
            }
            try {
                return work.call();
            } finally {
                MDC.clear();
            }
        });
        Thread thread = Thread.ofVirtual().name("tool-call").unstarted(task);
        running.set(thread);
        thread.start();
        if (cancelled) {
            thread.interrupt();
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return task.get();
                } catch (InterruptedException e) {
                    // The caller's own interrupt goes to the call and is restored after it.
                    interrupted = true;
                    thread.interrupt();
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException runtime) {
                        throw runtime;
                    }
                    if (e.getCause() instanceof Error error) {
                        throw error;
                    }
                    throw new IllegalStateException(e.getCause());
                }
            }
        } finally {
            running.set(null);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
