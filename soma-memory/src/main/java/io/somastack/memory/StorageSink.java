package io.somastack.memory;

import io.somastack.kernel.TenantId;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.time.Instant;

/**
 * Where {@link StorageMeter} hands each sample: {@code bytes} stored by {@code tenant} over
 * {@code [from, to)}, worth exactly {@code mbHours} MB-hours (10^6 bytes for one hour). Called
 * inside the transaction that advances the tenant's meter: write through {@code tx} only, and
 * throw to refuse the sample (nothing is metered, and the next run meters the interval again).
 * A batch may be retried alone after another unit's failure, so a call may be rolled back and
 * repeated; nothing outside {@code tx} may depend on it.
 */
@FunctionalInterface
public interface StorageSink {
    void record(Tx tx, TenantId tenant, long bytes, Instant from, Instant to, BigDecimal mbHours);
}
