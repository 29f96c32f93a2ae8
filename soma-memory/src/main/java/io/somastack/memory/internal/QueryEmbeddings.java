package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import io.somastack.models.Embedder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Query vectors for recall: embedded on one dedicated platform thread (the model's native call
 * then never pins a virtual thread's carrier, and a hybrid recall searches keywords while the
 * query is embedded), and cached per tenant, least recently used first out, {@link
 * #PER_TENANT} queries per tenant and {@link #TENANTS} tenants at most (the whole cache is
 * dropped when more tenants come). Keyed by tenant, so one tenant's queries never answer, or
 * time, another's. A vector depends only on the text and the model, so an entry never goes
 * stale while this embedder lives. Thread-safe; {@link #close()} stops the thread.
 */
public final class QueryEmbeddings implements AutoCloseable {
    public static final int PER_TENANT = 256;
    static final int TENANTS = 4096;

    private final Embedder embedder;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("memory-query-embedder").daemon().factory());
    private final ConcurrentHashMap<TenantId, Map<String, float[]>> cache = new ConcurrentHashMap<>();

    public QueryEmbeddings(Embedder embedder) {
        this.embedder = requireNonNull(embedder, "embedder is null");
    }

    /** The query's vector: at once when cached, else embedded on the embedding thread. */
    public CompletableFuture<float[]> embed(TenantId tenant, String query) {
        Map<String, float[]> recent = recent(tenant);
        float[] cached;
        synchronized (recent) {
            cached = recent.get(query);
        }
        if (cached != null) {
            return CompletableFuture.completedFuture(cached);
        }
        return CompletableFuture.supplyAsync(() -> embedder.embed(query), thread).thenApply(vector -> {
            synchronized (recent) {
                recent.put(query, vector);
            }
            return vector;
        });
    }

    private Map<String, float[]> recent(TenantId tenant) {
        if (cache.size() >= TENANTS && !cache.containsKey(tenant)) {
            cache.clear();
        }
        return cache.computeIfAbsent(tenant, id -> new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, float[]> eldest) {
                return size() > PER_TENANT;
            }
        });
    }

    @Override
    public void close() {
        thread.shutdown();
    }
}
