package io.somastack.metering;

import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Usage metering (not started) over a fresh test database, with model {@code m} priced at 1,000 USD
 * per million tokens each way, and the group commit its callers write through.
 */
record MeteringFixture(Database database, GroupCommit commit, Metering metering) implements AutoCloseable {
    static MeteringFixture create(Clock clock, LeaseConfig leases, MeterRegistry meters) {
        Database database = TestDatabase.create();
        Ids ids = new Ids(clock);
        GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 16, 1);
        MeteringConfig config = new MeteringConfig(List.of(new Price("m", Money.of("1000"), Money.of("1000"), Instant.EPOCH)),
                Duration.ofMinutes(10), Money.ZERO, leases);
        return new MeteringFixture(database, commit, Metering.create(config, database, clock, ids, meters));
    }

    @Override
    public void close() {
        metering.close();
        commit.close();
        database.close();
    }
}
