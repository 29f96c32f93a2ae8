package io.somastack.gateway;

import io.github.bucket4j.Bucket;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Buckets in this process: lock-free, exact for one node. Thread-safe. */
public final class LocalBucketStore implements BucketStore {
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    @Override
    public Bucket bucket(String name, long perMinute) {
        return buckets.computeIfAbsent(name + "/" + perMinute,
                ignored -> Bucket.builder().addLimit(BucketStore.configuration(perMinute).getBandwidths()[0]).build());
    }

    @Override
    public void close() {
        buckets.clear();
    }
}
