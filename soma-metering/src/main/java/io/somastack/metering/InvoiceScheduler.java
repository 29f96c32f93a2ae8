package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes each period by itself once it has been over for {@code invoices.close-delay} (late
 * ledger rows of the period's last seconds land first). Checks every few minutes; a close is
 * idempotent, so nodes that all run this, or a restart mid-close, make each invoice once.
 */
public final class InvoiceScheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InvoiceScheduler.class);

    private final Invoicing invoicing;
    private final Clock clock;
    private final Duration delay;
    private final Duration interval;
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("invoice-close").daemon().factory());
    private volatile YearMonth lastClosed;

    public InvoiceScheduler(Invoicing invoicing, Clock clock, Duration delay, Duration interval) {
        this.invoicing = requireNonNull(invoicing, "invoicing is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.delay = requireNonNull(delay, "delay is null");
        this.interval = requireNonNull(interval, "interval is null");
    }

    public InvoiceScheduler start() {
        timer.scheduleWithFixedDelay(() -> {
            try {
                closeDue();
            } catch (RuntimeException e) {
                LOG.warn("Scheduled invoice close failed; retrying in {}: {}", interval, e.getMessage());
            }
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** Closes the previous period if it has been over for the delay and this node has not closed it yet. */
    public void closeDue() {
        YearMonth previous = YearMonth.from(clock.now().minus(delay).atZone(ZoneOffset.UTC)).minusMonths(1);
        if (previous.equals(lastClosed)) {
            return;
        }
        Invoicing.Run run = invoicing.close(previous, true, "scheduler", "invoice-close");
        lastClosed = previous;
        if (run.created() > 0) {
            LOG.info("Closed period {}: {} invoices made, {} already there", previous, run.created(), run.existing());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
