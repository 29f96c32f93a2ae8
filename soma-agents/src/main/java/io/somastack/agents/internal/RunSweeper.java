package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.RunEvent;
import io.somastack.agents.RunStatus;
import io.somastack.agents.RunTotals;
import io.somastack.kernel.Clock;
import io.somastack.metering.Budgets;
import io.somastack.store.GroupCommit;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps runs honest across crashes. {@link #beat()} marks this node's runs alive;
 * {@link #sweep()} finds running runs nobody marked for {@code staleAfter} (their node died),
 * ends each as {@code interrupted} with a {@code run.interrupted} event and totals taken from
 * the ledger (every call of a run is a ledger row under the run's id), then settles the run's
 * reservation with that cost. Ending is conditional on the run still running and settling
 * deletes the reservation row, so a run is ended and settled once, whichever node sweeps.
 */
public final class RunSweeper {
    private static final Logger LOG = LoggerFactory.getLogger(RunSweeper.class);

    private final RunStore runs;
    private final EventLog events;
    private final Budgets budgets;
    private final GroupCommit commit;
    private final Clock clock;
    private final Duration staleAfter;
    private final Supplier<Set<UUID>> active;

    public RunSweeper(RunStore runs, EventLog events, Budgets budgets, GroupCommit commit, Clock clock, Duration staleAfter,
            Supplier<Set<UUID>> active) {
        this.runs = requireNonNull(runs, "runs is null");
        this.events = requireNonNull(events, "events is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.staleAfter = requireNonNull(staleAfter, "staleAfter is null");
        this.active = requireNonNull(active, "active is null");
    }

    public void beat() {
        runs.heartbeat(active.get(), clock.now());
    }

    /** Ends and settles every stale run; returns how many. */
    public int sweep() {
        int swept = 0;
        for (RunStore.Stale stale : runs.stale(clock.now().minus(staleAfter), 100)) {
            if (active.get().contains(stale.id())) {
                continue;
            }
            Optional<RunTotals> ended = commit.execute(tx -> {
                RunTotals totals = runs.ledgerTotals(tx, stale.tenant(), stale.id());
                String message = "The node running this run stopped; it was billed for the %d model and %d tool calls it made"
                        .formatted(totals.steps(), totals.toolCalls());
                if (!runs.finish(tx, stale.id(), RunStatus.INTERRUPTED, Optional.empty(), Optional.of("interrupted"), Optional.of(message),
                        totals, Optional.empty(), clock.now())) {
                    return Optional.<RunTotals>empty();
                }
                events.appendOrphan(tx, stale.tenant(), stale.id(), new RunEvent.Interrupted(message, totals.cost()));
                return Optional.of(totals);
            });
            if (ended.isPresent()) {
                budgets.settle(stale.reservation(), ended.get().cost());
                LOG.warn("Run {} of {} was interrupted (its node stopped); settled {} from the ledger", stale.id(), stale.agent(),
                        ended.get().cost().toPlainString());
                swept++;
            }
        }
        return swept;
    }
}
