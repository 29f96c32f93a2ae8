package io.somastack.agents;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.agents.internal.AgentLoader;
import io.somastack.agents.internal.ConversationStore;
import io.somastack.agents.internal.EventLog;
import io.somastack.agents.internal.ModelStep;
import io.somastack.agents.internal.ProvenanceKeys;
import io.somastack.agents.internal.MeteredModelStep;
import io.somastack.agents.internal.RunMetrics;
import io.somastack.agents.internal.RunStore;
import io.somastack.agents.internal.RunSweeper;
import io.somastack.agents.internal.TurnLoop;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Sessions;
import io.somastack.gateway.SigningKeyInfo;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.marketplace.Marketplace;
import io.somastack.memory.Memories;
import io.somastack.metering.Budgets;
import io.somastack.metering.CapsuleCharges;
import io.somastack.metering.PriceBook;
import io.somastack.models.MeteredModels;
import io.somastack.models.UsageMeter;
import io.somastack.policy.Constitution;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Notifications;
import io.somastack.tools.Tools;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agents capability, assembled: conversations, runs and their turn loop, the routes, and
 * the heartbeat and crash sweeper of runs. {@link #start()} sweeps runs left running by a dead
 * node and starts the timers; {@link #close()} stops accepting runs, cancels those under way
 * (each billed for what it used) and stops the timers.
 *
 * <pre>{@code
 * Agents agents = Agents.create(config.agents(), database, commit, marketplace, constitution, tools, memory.memories(),
 *         metering.budgets(), models, metering.usageMeter(), metering.priceBook(), metering.capsuleCharges(), gateway.sessions(), clock, ids,
 *         meters).start();
 * web.routes.apiBuilder(agents.routes(guard));
 * }</pre>
 */
public final class Agents implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agents.class);
    /** The channel {@code V8_5}'s trigger notifies when a run's cancel request is stored. */
    static final String CANCEL_CHANNEL = "soma_agent_cancels";
    /** How often a node checks its runs for stored cancel requests (the backstop for a missed notification). */
    static final Duration CANCEL_CHECK = Duration.ofSeconds(1);

    private final AgentsConfig config;
    private final Runs runs;
    private final Conversations conversations;
    private final RunSweeper sweeper;
    private final ProvenanceKeys provenanceKeys;
    private final Notifications notifications;
    private ScheduledExecutorService timer;

    private Agents(AgentsConfig config, Runs runs, Conversations conversations, RunSweeper sweeper, ProvenanceKeys provenanceKeys,
            Notifications notifications) {
        this.config = config;
        this.notifications = notifications;
        this.runs = runs;
        this.conversations = conversations;
        this.sweeper = sweeper;
        this.provenanceKeys = provenanceKeys;
    }

    public static Agents create(AgentsConfig config, Database database, GroupCommit commit, Marketplace marketplace, Constitution constitution,
            Tools tools, Memories memories, Budgets budgets, MeteredModels models, UsageMeter meter, PriceBook priceBook,
            CapsuleCharges capsuleCharges, Sessions sessions, Clock clock, Ids ids, MeterRegistry meters) {
        requireNonNull(config, "config is null");
        requireNonNull(database, "database is null");
        // Provenance is signed with its own long-lived keys (ProvenanceKeys), not the session keys, which leave the
        // JWKS one token lifetime after a rotation; the parameter stays so that callers need not change.
        requireNonNull(sessions, "sessions is null");
        ModelStep step = new MeteredModelStep(models, meter);
        AgentLoader agents = new AgentLoader(marketplace.installs(), marketplace.catalog(), constitution.bundles());
        RunStore runStore = new RunStore(database.jdbi());
        ConversationStore conversationStore = new ConversationStore(database.jdbi());
        EventLog events = new EventLog(database.jdbi(), commit, clock);
        ProvenanceKeys provenanceKeys = new ProvenanceKeys(database.jdbi(), clock).start();
        TurnLoop loop = new TurnLoop(config, step, tools.broker(), priceBook.withToolPrices(tools.config().prices()), memories, events,
                runStore, conversationStore, budgets, marketplace.runs(), capsuleCharges, provenanceKeys, commit, new RunMetrics(meters), clock, ids);
        Runs runs = new Runs(config, agents, step, constitution.engine(), budgets, runStore, conversationStore, events, loop, commit,
                database.jdbi(), clock, ids, "node-" + UUID.randomUUID());
        RunSweeper sweeper = new RunSweeper(runStore, events, budgets, commit, clock, config.staleAfter(), runs::activeIds);
        return new Agents(config, runs, new Conversations(conversationStore, agents, commit, clock, ids), sweeper, provenanceKeys,
                database.notifications());
    }

    /**
     * Sweeps runs a dead node left running, then marks this node's runs alive and sweeps on a
     * timer, and stops this node's runs whose cancel another node stored: at its notification,
     * and every {@link #CANCEL_CHECK} from the stored requests in case one was missed.
     */
    public Agents start() {
        sweepQuietly();
        notifications.listen(CANCEL_CHANNEL, runs::cancelRequested, this::checkCancelsQuietly);
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("agent-runs").daemon().factory());
        long beat = config.heartbeat().toMillis();
        timer.scheduleWithFixedDelay(() -> {
            try {
                sweeper.beat();
            } catch (RuntimeException e) {
                LOG.warn("Marking this node's runs alive failed: {}", e.getMessage());
            }
        }, beat, beat, TimeUnit.MILLISECONDS);
        long sweep = config.staleAfter().toMillis() / 2;
        timer.scheduleWithFixedDelay(this::sweepQuietly, sweep, sweep, TimeUnit.MILLISECONDS);
        long check = CANCEL_CHECK.toMillis();
        timer.scheduleWithFixedDelay(this::checkCancelsQuietly, check, check, TimeUnit.MILLISECONDS);
        return this;
    }

    private void checkCancelsQuietly() {
        try {
            runs.cancelRequested();
        } catch (RuntimeException e) {
            LOG.warn("Checking this node's runs for cancel requests failed: {}", e.getMessage());
        }
    }

    /** Ends and settles the runs whose node stopped beating; returns how many (the timer calls it). */
    public int sweep() {
        return sweeper.sweep();
    }

    private void sweepQuietly() {
        try {
            sweeper.sweep();
        } catch (RuntimeException e) {
            LOG.warn("Sweeping interrupted runs failed: {}", e.getMessage());
        }
    }

    public Runs runs() {
        return runs;
    }

    public Conversations conversations() {
        return conversations;
    }

    /** The HTTP and WebSocket routes, authorized by {@code guard}. */
    public AgentRoutes routes(Guard guard) {
        return new AgentRoutes(guard, runs, conversations, config, provenanceKeys::jwks);
    }

    /** The provenance keys as a JWKS, as {@code GET /v1/provenance/jwks.json} serves them (the console verifies runs with it). */
    public Map<String, Object> provenanceJwks() {
        return provenanceKeys.jwks();
    }

    /** The provenance signing keys, newest first, without their private halves (the operator's console lists them). */
    public List<SigningKeyInfo> provenanceKeyInfos() {
        return provenanceKeys.infos();
    }

    /**
     * Retires the active provenance signing key and makes a new one; the retired key stays in
     * {@code /v1/provenance/jwks.json}, so records it signed still verify.
     */
    public void rotateProvenanceKey() {
        provenanceKeys.rotate();
    }

    @Override
    public void close() {
        runs.drain(Duration.ofSeconds(5));
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
