package io.somastack.console;

import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.gateway.Gateway;
import io.somastack.agents.Agents;
import io.somastack.kernel.Clock;
import io.somastack.marketplace.Marketplace;
import io.somastack.memory.Memories;
import io.somastack.metering.Invoicing;
import io.somastack.metering.UsageRollups;
import io.somastack.policy.Constitution;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import java.time.Duration;

/**
 * The web console at {@code /console}: server-rendered pages over the capabilities' public
 * services. Wire it with
 * <pre>{@code
 * gateway.edge().acceptForms(Console.PATH);
 * web.routes.apiBuilder(Console.routes(database, gateway, commit, auditLog, constitution, memories, marketplace, agents,
 *         metering.invoicing(), meters, clock));
 * }</pre>
 */
public final class Console {
    /** Where the console is served; its forms post under it. */
    public static final String PATH = "/console";
    /** A session ends after this long without a request... */
    public static final Duration IDLE = Duration.ofMinutes(30);
    /** ...and this long after sign-in in any case. */
    public static final Duration ABSOLUTE = Duration.ofHours(12);

    private Console() {
    }

    public static ConsoleRoutes routes(Database database, Gateway gateway, GroupCommit commit, AuditLog auditLog, Constitution constitution,
            Memories memories, Marketplace marketplace, Agents agents, Invoicing invoicing, MeterRegistry meters, Clock clock) {
        ConsoleSessions sessions = new ConsoleSessions(database.jdbi(), clock, IDLE, ABSOLUTE);
        TrafficPages traffic = new TrafficPages(gateway.traffic(), gateway.tenants(), gateway.config().trafficFlushInterval(), clock);
        UsagePages usage = new UsagePages(new UsageRollups(database.jdbi()), gateway.tenants(), traffic, meters, clock);
        OperatorPages operator = new OperatorPages(gateway.tenants(), gateway.config(), commit, database, auditLog, clock);
        return new ConsoleRoutes(sessions, gateway.tenants(), gateway.operatorKeys(), usage, traffic, operator,
                new PolicyPages(constitution, gateway.tenants()), new MemoryPages(memories, gateway.tenants()),
                new MarketplacePages(marketplace, constitution.trustedKeys(), constitution.bundles(), gateway.tenants()),
                new AgentPages(marketplace, agents.runs(), agents.routes(gateway.guard()), gateway.tenants(), agents::provenanceJwks),
                new InvoicePages(invoicing, gateway.tenants()), new SigningKeyPages(gateway.sessions(), agents));
    }
}
