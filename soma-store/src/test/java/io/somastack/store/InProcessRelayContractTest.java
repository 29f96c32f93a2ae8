package io.somastack.store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** The embedded default, in-process dispatch, passes the relay contract. */
class InProcessRelayContractTest extends OutboxRelayContract {
    private final List<Received> received = new ArrayList<>();

    @Override
    protected OutboxRelay relay(DataSource dataSource) {
        OutboxRelay relay = new OutboxRelay(dataSource, Duration.ofMillis(10), 100);
        relay.subscribe(event -> {
            synchronized (received) {
                received.add(new Received(event.id(), event.type(), event.subject(), Optional.ofNullable(event.tenantId()), event.seq(), event.data()));
            }
        });
        return relay.start();
    }

    @Override
    protected List<Received> received(int expected) {
        await(Duration.ofSeconds(20), () -> {
            synchronized (received) {
                return received.size() >= expected;
            }
        });
        synchronized (received) {
            return List.copyOf(received);
        }
    }
}
