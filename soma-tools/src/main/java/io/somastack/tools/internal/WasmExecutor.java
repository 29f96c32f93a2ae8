package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import com.dylibso.chicory.runtime.ByteArrayMemory;
import com.dylibso.chicory.runtime.ChicoryInterruptedException;
import com.dylibso.chicory.runtime.ExportFunction;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.TrapException;
import com.dylibso.chicory.wasi.WasiExitException;
import com.dylibso.chicory.wasi.WasiOptions;
import com.dylibso.chicory.wasi.WasiPreview1;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.UnlinkableException;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import io.somastack.tools.FailureReason;
import io.somastack.tools.ToolsConfig;
import java.io.ByteArrayInputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * Runs a WebAssembly tool with Chicory's compiler under WASI preview 1: the arguments JSON on
 * stdin, the result JSON from stdout, stderr kept (bounded) as the log, {@code argv} the tool's
 * name only, no environment, no directories (so no filesystem) and no sockets. Each call gets
 * a fresh instance with its own linear memory, capped at the configured pages, which is garbage
 * once the call ends. Calls run on a fixed pool of platform threads (a spinning module must not
 * pin a virtual thread's carrier); a watchdog interrupts a call past its wall time, which
 * Chicory's compiled code checks at loop heads and calls, and the thread is free again.
 * Thread-safe.
 */
public final class WasmExecutor implements Executor, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WasmExecutor.class);
    private static final long STOP_GRACE_MS = 2_000;

    private final ToolsConfig config;
    private final ModuleCache modules;
    private final ToolMetrics metrics;
    private final ExecutorService sandboxes;

    public WasmExecutor(ToolsConfig config, ToolMetrics metrics) {
        this.config = requireNonNull(config, "config is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
        this.modules = new ModuleCache(config.moduleCacheSize());
        AtomicInteger threads = new AtomicInteger();
        this.sandboxes = new ThreadPoolExecutor(config.wasmConcurrency(), config.wasmConcurrency(), 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), runnable -> Thread.ofPlatform().name("tool-wasm-" + threads.incrementAndGet()).daemon()
                        .unstarted(runnable));
        ((ThreadPoolExecutor) sandboxes).allowCoreThreadTimeOut(true);
    }

    public ModuleCache modules() {
        return modules;
    }

    @Override
    public Outcome execute(TenantId tenant, CapsuleTools capsule, ToolSpec tool, byte[] arguments, Map<String, String> headers, Consumer<String> deltas) {
        String path = tool.module().orElseThrow();
        byte[] bytes = capsule.modules().get(path);
        if (bytes == null) {
            return new Outcome.Failure(FailureReason.TRAP, "The module %s is not in the capsule's bundle".formatted(path), "");
        }
        String sha256 = capsule.moduleSha256().get(path);
        // Compiled before the wall time starts (once per node per module): the limit is on the module's own run.
        ModuleCache.Compiled compiled;
        try {
            compiled = modules.get(sha256, bytes);
        } catch (RuntimeException e) {
            return new Outcome.Failure(FailureReason.TRAP, "The module is not valid WebAssembly: " + e.getMessage(), "");
        }
        DeltaStream stdout = new DeltaStream(config.wasmMaxOutputBytes(), config.deltaBytes(), deltas);
        BoundedLog stderr = new BoundedLog(config.wasmMaxLogBytes());
        AtomicReference<Memory> memory = new AtomicReference<>();
        CountDownLatch stopped = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean began = new java.util.concurrent.atomic.AtomicBoolean();
        Map<String, String> context = MDC.getCopyOfContextMap();
        long deadline = System.nanoTime() + config.wasmTimeout().toNanos();
        Future<Outcome> running;
        try {
            running = sandboxes.submit(() -> {
                began.set(true);
                if (context != null) {
                    MDC.setContextMap(context);
                }
                try {
                    if (System.nanoTime() > deadline) {
                        return timeout(stderr);
                    }
                    return run(tool, compiled, arguments, stdout, stderr, memory);
                } finally {
                    MDC.clear();
                    stopped.countDown();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return new Outcome.Failure(FailureReason.TIMEOUT, "The WebAssembly sandbox is shutting down", "");
        }
        try {
            return running.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            running.cancel(true);
            if (began.get()) {
                // The module was running: wait until its thread is free again (compiled code checks the interrupt at loop heads).
                try {
                    if (!stopped.await(STOP_GRACE_MS, TimeUnit.MILLISECONDS)) {
                        LOG.warn("WebAssembly tool {}/{} did not stop within {} ms of its interrupt", capsule.name(), tool.name(), STOP_GRACE_MS);
                    }
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            metrics.sandboxKill(FailureReason.TIMEOUT);
            return timeout(stderr);
        } catch (InterruptedException e) {
            running.cancel(true);
            Thread.currentThread().interrupt();
            return new Outcome.Failure(FailureReason.TIMEOUT, "The call was cancelled", stderr.text());
        } catch (ExecutionException e) {
            LOG.warn("WebAssembly tool {}/{} failed unexpectedly", capsule.name(), tool.name(), e.getCause());
            return new Outcome.Failure(FailureReason.TRAP, "The module failed: " + e.getCause(), stderr.text());
        }
    }

    private Outcome timeout(BoundedLog stderr) {
        return new Outcome.Failure(FailureReason.TIMEOUT, "The module ran past its wall time of %d ms and was stopped"
                .formatted(config.wasmTimeout().toMillis()), stderr.text());
    }

    private Outcome run(ToolSpec tool, ModuleCache.Compiled compiled, byte[] arguments, DeltaStream stdout, BoundedLog stderr,
            AtomicReference<Memory> memory) {
        int maxPages = config.wasmMaxPages();
        try (WasiPreview1 wasi = WasiPreview1.builder().withOptions(WasiOptions.builder()
                .withStdin(new ByteArrayInputStream(arguments)).withStdout(stdout).withStderr(stderr)
                .withArguments(List.of(tool.name())).build()).build()) {
            MemoryLimits declared = compiled.module().memorySection().filter(section -> section.memoryCount() > 0)
                    .map(section -> section.getMemory(0).limits()).orElse(null);
            Instance.Builder builder = Instance.builder(compiled.module()).withStart(false).withMachineFactory(compiled.machine())
                    .withImportValues(ImportValues.builder().addFunction(wasi.toHostFunctions()).build());
            if (declared != null) {
                if (declared.initialPages() > maxPages) {
                    metrics.sandboxKill(FailureReason.MEMORY_LIMIT);
                    return new Outcome.Failure(FailureReason.MEMORY_LIMIT, "The module declares %d pages of memory; the limit is %d (%d bytes)"
                            .formatted(declared.initialPages(), maxPages, config.wasmMemoryBytes()), "");
                }
                MemoryLimits limits = new MemoryLimits(declared.initialPages(), Math.min(declared.maximumPages(), maxPages));
                builder.withMemoryLimits(limits).withMemoryFactory(requested -> {
                    Memory created = new ByteArrayMemory(limits);
                    memory.set(created);
                    return created;
                });
            }
            Instance instance = builder.build();
            ExportFunction start = instance.export("_start");
            try {
                start.apply();
            } catch (WasiExitException exit) {
                if (exit.exitCode() != 0) {
                    return new Outcome.Failure(FailureReason.TRAP, "The module exited with code %d".formatted(exit.exitCode()), stderr.text());
                }
            }
            stdout.finish();
            return result(stdout.bytes(), stderr);
        } catch (DeltaStream.OutputLimitExceeded e) {
            metrics.sandboxKill(FailureReason.OUTPUT_LIMIT);
            return new Outcome.Failure(FailureReason.OUTPUT_LIMIT, e.getMessage(), stderr.text());
        } catch (ChicoryInterruptedException e) {
            if (stdout.exceeded()) {
                metrics.sandboxKill(FailureReason.OUTPUT_LIMIT);
                return new Outcome.Failure(FailureReason.OUTPUT_LIMIT, new DeltaStream.OutputLimitExceeded(config.wasmMaxOutputBytes())
                        .getMessage(), stderr.text());
            }
            return timeout(stderr);
        } catch (TrapException e) {
            if (stdout.exceeded()) {
                metrics.sandboxKill(FailureReason.OUTPUT_LIMIT);
                return new Outcome.Failure(FailureReason.OUTPUT_LIMIT, new DeltaStream.OutputLimitExceeded(config.wasmMaxOutputBytes())
                        .getMessage(), stderr.text());
            }
            Memory used = memory.get();
            if (used != null && atLimit(used.pages(), used.maximumPages())) {
                metrics.sandboxKill(FailureReason.MEMORY_LIMIT);
                return new Outcome.Failure(FailureReason.MEMORY_LIMIT, "The module trapped (%s) at its memory limit of %d bytes"
                        .formatted(e.getMessage(), (long) used.maximumPages() * ToolsConfig.WASM_PAGE), stderr.text());
            }
            return new Outcome.Failure(FailureReason.TRAP, "The module trapped: " + e.getMessage(), stderr.text());
        } catch (UnlinkableException e) {
            return new Outcome.Failure(FailureReason.TRAP, "The module cannot be linked: %s (SomaStack provides WASI preview 1 only)"
                    .formatted(e.getMessage()), stderr.text());
        } catch (ChicoryException e) {
            if (stdout.exceeded()) {
                metrics.sandboxKill(FailureReason.OUTPUT_LIMIT);
                return new Outcome.Failure(FailureReason.OUTPUT_LIMIT, new DeltaStream.OutputLimitExceeded(config.wasmMaxOutputBytes())
                        .getMessage(), stderr.text());
            }
            return new Outcome.Failure(FailureReason.TRAP, "The module failed: " + e.getMessage(), stderr.text());
        } catch (StackOverflowError e) {
            return new Outcome.Failure(FailureReason.TRAP, "The module exhausted its call stack", stderr.text());
        } catch (OutOfMemoryError e) {
            metrics.sandboxKill(FailureReason.MEMORY_LIMIT);
            return new Outcome.Failure(FailureReason.MEMORY_LIMIT, "The node ran out of memory running the module", stderr.text());
        } finally {
            if (Thread.interrupted()) {
                LOG.debug("Sandbox thread interrupt cleared");
            }
        }
    }

    /** A trap with memory within 1 MiB of its cap is taken as the module's allocation failing at the limit. */
    private static boolean atLimit(int pages, int maximumPages) {
        return maximumPages - pages <= 16;
    }

    private static Outcome result(byte[] stdout, BoundedLog stderr) {
        JsonNode result;
        try {
            result = Json.mapper().readTree(stdout);
        } catch (JacksonException e) {
            return new Outcome.Failure(FailureReason.TRAP, "The module's stdout is not JSON: " + e.getOriginalMessage(), stderr.text());
        }
        if (result == null || result.isMissingNode()) {
            return new Outcome.Failure(FailureReason.TRAP, "The module wrote nothing to stdout (its result is JSON on stdout)", stderr.text());
        }
        return new Outcome.Success(result, stderr.text());
    }

    @Override
    public void close() {
        sandboxes.shutdownNow();
    }
}
