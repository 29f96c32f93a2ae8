package io.somastack.gateway;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.github.bucket4j.redis.lettuce.cas.LettuceBasedProxyManager;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;

/**
 * Buckets in Redis (Bucket4j's compare-and-swap over Lettuce), shared by every node, so a
 * tenant's limit holds across the cluster. Keys are {@code soma:rl:<name>/<limit>} and
 * expire once a bucket would be full again. Thread-safe.
 */
public final class RedisBucketStore implements BucketStore {
    private final RedisClient client;
    private final StatefulRedisConnection<String, byte[]> connection;
    private final LettuceBasedProxyManager<String> proxies;

    public RedisBucketStore(String redisUrl) {
        this.client = RedisClient.create(redisUrl);
        this.connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
        this.proxies = Bucket4jLettuce.casBasedBuilder(connection)
                .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofSeconds(10)))
                .build();
    }

    @Override
    public Bucket bucket(String name, long perMinute) {
        return proxies.builder().build("soma:rl:" + name + "/" + perMinute, () -> BucketStore.configuration(perMinute));
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown();
    }
}
