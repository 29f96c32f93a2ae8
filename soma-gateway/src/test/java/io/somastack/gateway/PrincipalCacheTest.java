package io.somastack.gateway;

import static io.javalin.apibuilder.ApiBuilder.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.StoreConfig;
import io.somastack.store.TestDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two gateway nodes (each its own pool, LISTEN connection and principal cache, on its own
 * HTTP port) over one PostgreSQL: a change committed through node A is obeyed by node B, which
 * had the principal cached, within the 1 s the cache promises.
 */
class PrincipalCacheTest {
    private static final Duration BOUND = Duration.ofSeconds(1);

    private final Clock clock = Clock.system();
    private final Ids ids = new Ids(clock);
    private Node nodeA;
    private Node nodeB;

    private record Node(Database database, GroupCommit commit, TestGateway gateway) implements AutoCloseable {
        static Node start(String url, Clock clock, Ids ids) {
            Database database = new Database(new StoreConfig(Optional.of(url), Optional.of("postgres"), Optional.empty(), Path.of("target"),
                    8, 256, Duration.ofSeconds(10))).start();
            GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 16, 1);
            TestGateway gateway = new TestGateway(database, commit, clock, ids, new SimpleMeterRegistry(),
                    guard -> () -> get("/v1/whoami", ctx -> ctx.json(Map.of("tenant", guard.tenant(ctx, "usage:read").tenant().name()))));
            return new Node(database, commit, gateway);
        }

        int whoami(String key) {
            return gateway.send("GET", "/v1/whoami", key, null).status();
        }

        @Override
        public void close() {
            gateway.close();
            commit.close();
            database.close();
        }
    }

    @BeforeEach
    void startTwoNodes() {
        String url = TestDatabase.newDatabaseUrl();
        nodeA = Node.start(url, clock, ids);
        nodeB = Node.start(url, clock, ids);
        awaitLive(nodeA);
        awaitLive(nodeB);
    }

    @AfterEach
    void stopNodes() {
        nodeB.close();
        nodeA.close();
    }

    @Test
    void keyRevokedOnOneNodeIsRefusedOnTheOtherWithinOneSecond() {
        String key = nodeA.gateway().tenantKey("acme", "usage:read");
        // Node B serves the key a few times, so its principal is cached there.
        for (int i = 0; i < 3; i++) {
            assertThat(nodeB.whoami(key)).isEqualTo(200);
        }
        UUID keyId = nodeA.gateway().tenants().authenticate(key).keyId();

        nodeA.commit().execute(tx -> nodeA.gateway().tenants().revokeKey(tx, keyId, "operator", "req-revoke"));
        nodeA.gateway().tenants().forgetKey(keyId);
        long revoked = System.nanoTime();

        assertThat(nodeA.whoami(key)).as("the revoking node refuses at once").isEqualTo(401);
        assertThat(refusedWithin(() -> nodeB.whoami(key), 401, revoked)).as("node B refused the revoked key within 1 s").isTrue();
    }

    @Test
    void tenantChangedInTheDatabaseIsObeyedOnBothNodesWithinOneSecond() {
        String key = nodeA.gateway().tenantKey("globex", "usage:read");
        assertThat(nodeA.whoami(key)).isEqualTo(200);
        assertThat(nodeB.whoami(key)).isEqualTo(200);

        // An operator moves the tenant to another region in SQL, outside any SomaStack route.
        nodeA.database().jdbi().useHandle(handle -> handle.execute("UPDATE tenants SET home_region = 'eu-west' WHERE name = 'globex'"));
        long moved = System.nanoTime();

        assertThat(refusedWithin(() -> nodeA.whoami(key), 421, moved)).as("node A sent the tenant to its new region within 1 s").isTrue();
        assertThat(refusedWithin(() -> nodeB.whoami(key), 421, moved)).as("node B sent the tenant to its new region within 1 s").isTrue();
    }

    /** Polls until {@code call} answers {@code status}; true if it did within {@link #BOUND} of {@code since}. */
    private static boolean refusedWithin(IntSupplier call, int status, long since) {
        while (true) {
            int answer = call.getAsInt();
            long elapsed = System.nanoTime() - since;
            if (answer == status) {
                return elapsed <= BOUND.toNanos();
            }
            if (elapsed > BOUND.toNanos()) {
                return false;
            }
        }
    }

    private static void awaitLive(Node node) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!node.database().notifications().isLive() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(node.database().notifications().isLive()).as("the node listens for changes").isTrue();
    }
}
