package io.somastack.gateway;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import java.time.Duration;

/**
 * Where token buckets live: {@link LocalBucketStore} in this process (exact on one node),
 * {@link RedisBucketStore} in Redis (exact across nodes). Both pass
 * {@code RateLimiterContractTest}.
 */
public interface BucketStore extends AutoCloseable {
    /** The bucket named {@code name}, holding {@code perMinute} tokens refilled greedily per minute. */
    Bucket bucket(String name, long perMinute);

    @Override
    void close();

    static BucketConfiguration configuration(long perMinute) {
        return BucketConfiguration.builder()
                .addLimit(Bandwidth.builder().capacity(perMinute).refillGreedy(perMinute, Duration.ofMinutes(1)).build())
                .build();
    }
}
