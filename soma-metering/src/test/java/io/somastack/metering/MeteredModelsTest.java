package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.BucketRateLimiter;
import io.somastack.gateway.GatewayConfig;
import io.somastack.gateway.Principal;
import io.somastack.gateway.Tenant;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.Settings;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.MeteredModels;
import io.somastack.models.ModelRouter;
import io.somastack.models.Models;
import io.somastack.models.ModelsConfig;
import io.somastack.models.TestModel;
import io.somastack.store.AuditEntry;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The metered model call as a non-HTTP caller (the agents' turn loop) makes it: the real tiny
 * model, real budgets and ledger in a real PostgreSQL, billed through {@link LedgerUsageMeter}.
 */
class MeteredModelsTest {
    private static final Price PRICE = new Price("stories260K", Money.of("1000"), Money.of("2000"), Instant.EPOCH);
    private static ModelRouter router;

    private final Clock clock = Clock.system();
    private final TenantId tenant = new TenantId(UUID.randomUUID());
    private Database database;
    private GroupCommit commit;
    private Ledger ledger;
    private MeteredModels models;

    @BeforeAll
    static void loadModel() {
        Settings settings = Settings.load(Map.of("SOMA_LOCAL_MODEL", TestModel.path().toString(), "SOMA_LOCAL_CONTEXT_SIZE", "512",
                "SOMA_LOCAL_THREADS", "1"), Optional.empty());
        ModelsConfig config = ModelsConfig.from(settings, Map.of());
        settings.validate();
        router = Models.router(config, Clock.system());
    }

    @AfterAll
    static void closeModel() {
        if (router != null) {
            router.close();
        }
    }

    @BeforeEach
    void start() {
        database = TestDatabase.create();
        Ids ids = new Ids(clock);
        commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 16, 1);
        ledger = new Ledger(database.jdbi(), clock, ids);
        Budgets budgets = new Budgets(database.asyncCommitDataSource(), clock, ids, Duration.ofMinutes(10), new SimpleMeterRegistry());
        GatewayConfig gateway = GatewayConfig.from(Settings.of(Map.of()));
        models = new MeteredModels(router, new LedgerUsageMeter(new PriceBook(List.of(PRICE)), budgets, ledger, clock), commit,
                new BucketRateLimiter(gateway.rateLimits(), gateway.bucketStore()), new SimpleMeterRegistry(), 64);
    }

    @AfterEach
    void stop() {
        commit.close();
        database.close();
    }

    private Principal caller(Optional<Money> budget) {
        return new Principal(new Tenant(tenant, "acme", "default", "local", budget, Instant.now()), UUID.randomUUID(), Set.of("*"),
                Optional.empty(), Principal.Via.API_KEY);
    }

    private static ChatRequest request(int maxTokens) {
        return ChatRequest.parse("""
                {"model": "stories260K", "messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": %d, "temperature": 0}"""
                .formatted(maxTokens).getBytes(StandardCharsets.UTF_8));
    }

    private MeteredModels.Call<ChatResult> call() {
        return MeteredModels.Call.of("run-1", new AuditEntry(Optional.of(tenant), "key:test", "agent.model.call", "stories260K", "run-1",
                Map.of()));
    }

    private BigDecimal budget(String column) {
        return database.jdbi().withHandle(handle -> handle.createQuery("SELECT " + column + " FROM budget_spend WHERE tenant_id = :tenant")
                .bind("tenant", tenant.value()).mapTo(BigDecimal.class).one());
    }

    @Test
    void billsABlockingCallByItsLedgerEntryAndSettlesTheBudget() {
        MeteredModels.Billed<ChatResult> billed = models.complete(caller(Optional.of(Money.of("5.00"))), request(8), call());

        var usage = billed.result().usage();
        assertThat(usage.outputTokens()).isEqualTo(8);
        assertThat(billed.cost()).isEqualTo(PRICE.cost(usage.inputTokens(), usage.outputTokens()));
        var summary = ledger.summarize(tenant, Instant.EPOCH, Instant.now().plusSeconds(60), Ledger.GroupBy.MODEL);
        assertThat(summary).singleElement().satisfies(sum -> {
            assertThat(sum.group()).isEqualTo("stories260K");
            assertThat(sum.cost()).isEqualTo(billed.cost());
        });
        String ledgerRequest = database.jdbi().withHandle(handle -> handle.createQuery("SELECT request_id FROM usage_ledger WHERE id = :id")
                .bind("id", billed.ledgerId()).mapTo(String.class).one());
        assertThat(ledgerRequest).isEqualTo("run-1");
        assertThat(budget("spent")).isEqualByComparingTo(billed.cost().amount());
        assertThat(budget("reserved")).isZero();
    }

    @Test
    void billsWhatAStreamGeneratedBeforeItsCallerStopped() {
        AtomicInteger chunks = new AtomicInteger();

        MeteredModels.Billed<ChatResult> billed = models.stream(caller(Optional.of(Money.of("5.00"))), request(40), call(),
                chunk -> chunks.incrementAndGet() < 3);

        assertThat(billed.result().clientGone()).isTrue();
        assertThat(billed.result().usage().outputTokens()).isBetween(1, 39);
        assertThat(billed.cost()).isEqualTo(PRICE.cost(billed.result().usage().inputTokens(), billed.result().usage().outputTokens()));
        assertThat(budget("spent")).isEqualByComparingTo(billed.cost().amount());
        assertThat(budget("reserved")).isZero();
    }

    /**
     * Each call commits its hold on its own before the model runs (another connection sees it
     * reserved while the model streams), then writes its ledger row, outbox event, audit entry
     * and settle in one transaction: each of those rows carries the same transaction id
     * ({@code xmin}), which is not the hold's. Read from the rows themselves, so other work on the
     * same PostgreSQL cluster cannot change the figures (a count of {@code txid_current()}
     * could: transaction ids are shared by every database of the cluster).
     */
    @Test
    void aCallCommitsItsHoldAloneThenLedgerOutboxAuditAndSettleInOneTransaction() {
        Principal caller = caller(Optional.of(Money.of("5.00")));
        Set<Long> transactions = new HashSet<>();
        Money billed = Money.ZERO;
        for (int i = 0; i < 3; i++) {
            String requestId = "run-" + i;
            AtomicReference<BudgetRow> whileStreaming = new AtomicReference<>();
            MeteredModels.Billed<ChatResult> call = models.stream(caller, request(4),
                    MeteredModels.Call.of(requestId, new AuditEntry(Optional.of(tenant), "key:test", "agent.model.call", "stories260K", requestId,
                            Map.of())),
                    chunk -> {
                        whileStreaming.compareAndSet(null, budgetRow());
                        return true;
                    });
            billed = billed.plus(call.cost());

            BudgetRow hold = whileStreaming.get();
            assertThat(hold).as("the budget row while call %d streamed", i).isNotNull();
            assertThat(hold.reserved()).as("reserved while call %d streamed", i).isPositive();
            long ledger = xmin("SELECT xmin::text::bigint FROM usage_ledger WHERE id::text = :key", call.ledgerId().toString());
            assertThat(xmin("SELECT xmin::text::bigint FROM outbox WHERE subject = :key", call.ledgerId().toString()))
                    .as("the usage event of call %d", i).isEqualTo(ledger);
            assertThat(xmin("SELECT xmin::text::bigint FROM audit_log WHERE request_id = :key", requestId))
                    .as("the audit entry of call %d", i).isEqualTo(ledger);
            BudgetRow settled = budgetRow();
            assertThat(settled.transaction()).as("the settle of call %d", i).isEqualTo(ledger);
            assertThat(settled.reserved()).isZero();
            assertThat(hold.transaction()).as("the hold of call %d", i).isNotEqualTo(ledger);
            assertThat(transactions.add(hold.transaction()) && transactions.add(ledger)).as("transactions new to call %d", i).isTrue();
        }
        assertThat(budget("spent")).isEqualByComparingTo(billed.amount());
    }

    private record BudgetRow(long transaction, BigDecimal reserved) {
    }

    private BudgetRow budgetRow() {
        return database.jdbi().withHandle(handle -> handle.createQuery(
                        "SELECT xmin::text::bigint AS transaction, reserved FROM budget_spend WHERE tenant_id = :tenant")
                .bind("tenant", tenant.value()).map((rs, ctx) -> new BudgetRow(rs.getLong("transaction"), rs.getBigDecimal("reserved"))).one());
    }

    private long xmin(String sql, String key) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).bind("key", key).mapTo(Long.class).one());
    }

    @Test
    void refusesACallWhoseWorstCaseDoesNotFitTheBudgetBeforeTheModelIsAsked() {
        assertThatThrownBy(() -> models.complete(caller(Optional.of(Money.of("0.000001"))), request(8), call()))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.BUDGET_EXHAUSTED));

        assertThat(ledger.summarize(tenant, Instant.EPOCH, Instant.now().plusSeconds(60), Ledger.GroupBy.MODEL)).isEmpty();
    }
}
