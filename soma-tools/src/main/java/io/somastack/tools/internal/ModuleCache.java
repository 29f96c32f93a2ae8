package io.somastack.tools.internal;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * WebAssembly modules parsed and compiled to JVM bytecode (Chicory's compiler) once per node,
 * keyed by the module's SHA-256: a second call of the same module does not compile again.
 * Concurrent first calls of one module wait for a single compilation. Least recently used
 * modules leave the cache past its size. Thread-safe.
 */
public final class ModuleCache {
    /** A parsed module and the factory of its compiled machine (shared by every instance). */
    public record Compiled(WasmModule module, Function<Instance, Machine> machine) {
    }

    private final int size;
    private final Map<String, CompletableFuture<Compiled>> modules;
    private long compilations;

    public ModuleCache(int size) {
        this.size = size;
        this.modules = new LinkedHashMap<>(16, 0.75f, true);
    }

    /** The compiled module of {@code bytes} (whose SHA-256 is {@code sha256}); throws what parsing or compiling throws. */
    public Compiled get(String sha256, byte[] bytes) {
        CompletableFuture<Compiled> future;
        boolean mine = false;
        synchronized (this) {
            future = modules.get(sha256);
            if (future == null) {
                future = new CompletableFuture<>();
                modules.put(sha256, future);
                mine = true;
                if (modules.size() > size) {
                    var eldest = modules.keySet().iterator();
                    eldest.next();
                    eldest.remove();
                }
            }
        }
        if (mine) {
            try {
                WasmModule module = Parser.parse(bytes);
                future.complete(new Compiled(module, MachineFactoryCompiler.compile(module)));
                synchronized (this) {
                    compilations++;
                }
            } catch (RuntimeException | LinkageError e) {
                future.completeExceptionally(e);
                synchronized (this) {
                    modules.remove(sha256, future);
                }
            }
        }
        try {
            return future.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw e;
        }
    }

    /** How many modules this cache compiled (for tests and the metric). */
    public synchronized long compilations() {
        return compilations;
    }
}
