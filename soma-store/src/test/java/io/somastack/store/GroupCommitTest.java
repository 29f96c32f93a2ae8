package io.somastack.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Deferred work runs once per group, with every unit's part, before the commit; a failing group is retried in halves. */
class GroupCommitTest {
    private Database database;
    private GroupCommit commit;
    private final AtomicInteger statements = new AtomicInteger();
    private final List<Boolean> shared = new ArrayList<>();

    @BeforeEach
    void start() {
        database = TestDatabase.create();
        database.jdbi().useHandle(handle -> handle.execute("CREATE TABLE numbers (n INT PRIMARY KEY CHECK (n <> 13))"));
        commit = new GroupCommit(database.jdbi(), new AuditLog(Clock.system()), new Outbox(Clock.system(), new Ids(Clock.system())), 64, 1);
    }

    @AfterEach
    void stop() {
        commit.close();
        database.close();
    }

    /** Each unit adds its number to one multi-row insert of its transaction. */
    private final class Numbers implements Tx.Deferred {
        private final List<Integer> numbers = new ArrayList<>();

        @Override
        public void run(Handle handle) {
            statements.incrementAndGet();
            handle.createUpdate("INSERT INTO numbers SELECT unnest(:numbers)").bind("numbers", numbers.toArray(Integer[]::new)).execute();
        }
    }

    private List<Function<Tx, Integer>> units(int count) {
        return IntStream.range(0, count).<Function<Tx, Integer>>mapToObj(n -> tx -> {
            shared.add(tx.shared());
            tx.deferred(this, Numbers::new).numbers.add(n);
            return n;
        }).toList();
    }

    private long rows() {
        return database.jdbi().withHandle(handle -> handle.createQuery("SELECT count(*) FROM numbers").mapTo(Long.class).one());
    }

    @Test
    void aGroupsDeferredWorkRunsOnceWithEveryUnitsPartBeforeItCommits() {
        List<CompletableFuture<Integer>> results = OneGroup.submit(commit, units(12));

        assertThat(results.stream().map(CompletableFuture::join)).containsExactlyElementsOf(IntStream.range(0, 12).boxed().toList());
        assertThat(rows()).isEqualTo(12);
        assertThat(statements).hasValue(1);
        assertThat(shared).hasSize(12).containsOnly(true);
        boolean alone = commit.execute(Tx::shared);
        assertThat(alone).as("a unit alone").isFalse();
    }

    @Test
    void aUnitRolledBackAsADeadlockVictimRunsAgainAndCommits() throws Exception {
        database.jdbi().useHandle(handle -> handle.execute("INSERT INTO numbers VALUES (1), (2)"));
        CountDownLatch unitHoldsOne = new CountDownLatch(1);
        CountDownLatch otherHoldsTwo = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        // The unit locks row 1, then row 2; another transaction holds row 2 and then asks for row 1. The unit waits
        // first, so PostgreSQL's deadlock check (after deadlock_timeout, 1 s) fires in the unit's session: it is the victim.
        CompletableFuture<Integer> unit = commit.submit(tx -> {
            runs.incrementAndGet();
            tx.handle().execute("UPDATE numbers SET n = n WHERE n = 1");
            unitHoldsOne.countDown();
            await(otherHoldsTwo);
            tx.handle().execute("UPDATE numbers SET n = n WHERE n = 2");
            return runs.get();
        });
        Thread other = Thread.ofPlatform().start(() -> database.jdbi().useTransaction(handle -> {
            await(unitHoldsOne);
            handle.execute("UPDATE numbers SET n = n WHERE n = 2");
            otherHoldsTwo.countDown();
            LockSupport.parkNanos(200_000_000L);
            handle.execute("UPDATE numbers SET n = n WHERE n = 1");
        }));

        assertThat(unit.get(30, TimeUnit.SECONDS)).as("committed on its second run").isEqualTo(2);
        other.join();
        assertThat(GroupCommit.transientFailure(new RuntimeException(new SQLException("deadlock detected", "40P01")))).isTrue();
        assertThat(GroupCommit.transientFailure(new RuntimeException(new SQLException("check violation", "23514")))).isFalse();
    }

    private static void await(CountDownLatch latch) {
        try {
            assertThat(latch.await(30, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aGroupWhoseDeferredWorkFailsIsRetriedInHalvesSoOnlyTheFailingUnitFails() {
        List<CompletableFuture<Integer>> results = OneGroup.submit(commit, units(16));

        assertThatThrownBy(results.get(13)::join).hasMessageContaining("numbers_n_check");
        for (int n = 0; n < 16; n++) {
            if (n != 13) {
                assertThat(results.get(n).join()).isEqualTo(n);
            }
        }
        assertThat(rows()).isEqualTo(15);
        // 16 fails, then 8 + 8 (one fails), 4 + 4, 2 + 2, 1 + 1: 9 transactions, not 1 + 16.
        assertThat(statements).hasValue(9);
    }
}
