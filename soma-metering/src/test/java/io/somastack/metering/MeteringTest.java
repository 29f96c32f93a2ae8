package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.Principal;
import io.somastack.gateway.Tenant;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.models.UsageMeter;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The metering facade: a model call billed through its {@link UsageMeter}, and its sweeper settling what a dead node left. */
class MeteringTest {
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-25T10:00:00Z"));
    private final Clock clock = now::get;
    private final TenantId tenant = new TenantId(UUID.randomUUID());
    private MeteringFixture fixture;
    private Database database;
    private GroupCommit commit;
    private Metering metering;

    @BeforeEach
    void start() {
        // Per-call reservations here (budget leases off); BudgetLeasesTest covers what a dead node's leases leave.
        fixture = MeteringFixture.create(clock, new LeaseConfig(false, Duration.ofSeconds(15), Duration.ofSeconds(2), Duration.ofSeconds(5)),
                new SimpleMeterRegistry());
        database = fixture.database();
        commit = fixture.commit();
        metering = fixture.metering().start();
    }

    @AfterEach
    void stop() {
        fixture.close();
    }

    private BigDecimal budget(String column) {
        return database.jdbi().withHandle(handle -> handle.createQuery("SELECT " + column + " FROM budget_spend WHERE tenant_id = :tenant")
                .bind("tenant", tenant.value()).mapTo(BigDecimal.class).one());
    }

    @Test
    void theSweeperSettlesFromTheLedgerACallWhoseNodeDiedBeforeSettling() {
        Principal caller = new Principal(new Tenant(tenant, "acme", "default", "local", Optional.of(Money.of("1.00")), now.get()),
                UUID.randomUUID(), Set.of("*"), Optional.empty(), Principal.Via.API_KEY);
        UsageMeter meter = metering.usageMeter();
        UsageMeter.Hold hold = meter.reserve(caller, new UsageMeter.WorstCase("m", List.of(new UsageMeter.Candidate("local", "m")), 300, 0));
        UsageMeter.Entry entry = commit.execute(tx -> meter.record(tx, hold, new UsageMeter.Usage(tenant, caller.keyId(), "req-1",
                Optional.empty(), "m", "local", "m", 200, 0, false)));
        // The node dies here: the entry is durable, the reservation never settled.
        assertThat(hold.amount()).isEqualTo(Money.of("0.3"));
        assertThat(budget("reserved")).isEqualByComparingTo("0.3");

        assertThat(metering.sweep()).isZero();
        now.set(now.get().plus(Duration.ofMinutes(11)));

        assertThat(metering.sweep()).isEqualTo(1);
        assertThat(entry.cost()).isEqualTo(Money.of("0.2"));
        assertThat(budget("spent")).isEqualByComparingTo("0.2");
        assertThat(budget("reserved")).isZero();
    }
}
