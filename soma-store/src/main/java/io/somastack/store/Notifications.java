package io.somastack.store;

import static java.util.Objects.requireNonNull;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL {@code LISTEN} on one dedicated connection (outside the pool), read by one daemon
 * thread with pgjdbc's {@code getNotifications(timeout)}. Caches use it to drop entries when
 * another node (or this one) commits a change, and ask {@link #isLive()} before trusting
 * themselves: the thread pings the server every {@link #PING} and the listener counts as live
 * only while its last ping that was answered was sent less than {@link #STALE_AFTER} ago. A
 * notification committed before that ping was sent has been delivered by then (PostgreSQL
 * delivers to an idle listening session at commit), so a cache that is used only while live
 * misses no change older than {@link #STALE_AFTER}. After a lost connection or a stall
 * (a gap between answered pings longer than {@link #STALE_AFTER}) every handler is told to
 * forget everything ({@code onGap}) before the listener counts as live again. Thread-safe.
 *
 * <pre>{@code
 * Notifications notifications = database.notifications();
 * notifications.listen("soma_principals", payload -> cache.invalidate(payload), cache::clear);
 * if (notifications.isLive()) { ... use the cache ... }
 * }</pre>
 */
public final class Notifications implements AutoCloseable {
    /** How often the listening connection is pinged. */
    public static final Duration PING = Duration.ofMillis(200);
    /** How old the last answered ping may be for the listener to count as live. */
    public static final Duration STALE_AFTER = Duration.ofMillis(700);

    private static final Logger LOG = LoggerFactory.getLogger(Notifications.class);

    private final ConnectionSource connections;
    private final List<Handler> handlers = new CopyOnWriteArrayList<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long liveSince = Long.MIN_VALUE;
    private volatile long lastPingSent = Long.MIN_VALUE;
    // How many handlers' channels the connection LISTENs on; live only when that is all of them.
    private volatile int listening;
    private Connection connection;

    /** Opens a new connection to the same database as the pool, outside the pool. */
    @FunctionalInterface
    public interface ConnectionSource {
        Connection open() throws SQLException;
    }

    private record Handler(String channel, Consumer<String> onPayload, Runnable onGap) {
    }

    Notifications(ConnectionSource connections) {
        this.connections = requireNonNull(connections, "connections is null");
        this.thread = Thread.ofPlatform().daemon().name("soma-notifications").unstarted(this::run);
    }

    Notifications start() {
        thread.start();
        return this;
    }

    /**
     * Calls {@code onPayload} with the payload of every notification on {@code channel}
     * (on the listener's thread; keep it short), and {@code onGap} whenever notifications may
     * have been missed (at the first connect, after a reconnect or a stall).
     */
    public void listen(String channel, Consumer<String> onPayload, Runnable onGap) {
        if (!channel.matches("[a-z_][a-z0-9_]{0,62}")) {
            throw new IllegalArgumentException("Not a plain channel name: " + channel);
        }
        // The thread LISTENs on the new channel before its next ping; until then isLive() is false
        // (fewer channels listened to than handlers), and after it every handler hears onGap.
        handlers.add(new Handler(channel, requireNonNull(onPayload, "onPayload is null"), requireNonNull(onGap, "onGap is null")));
    }

    /** Whether every change committed more than {@link #STALE_AFTER} ago, on every channel listened to, has been delivered. */
    public boolean isLive() {
        long sent = lastPingSent;
        return listening == handlers.size() && sent != Long.MIN_VALUE && liveSince != Long.MIN_VALUE
                && System.nanoTime() - sent < STALE_AFTER.toNanos();
    }

    private void run() {
        while (running) {
            try {
                if (connection == null) {
                    connection = connections.open();
                    connection.setAutoCommit(true);
                    listening = 0;
                }
                if (listening < handlers.size()) {
                    List<Handler> current = List.copyOf(handlers);
                    try (Statement statement = connection.createStatement()) {
                        for (Handler handler : current) {
                            statement.execute("LISTEN " + handler.channel());
                        }
                    }
                    liveSince = Long.MIN_VALUE;
                    listening = current.size();
                }
                long sent = System.nanoTime();
                try (Statement statement = connection.createStatement()) {
                    statement.setQueryTimeout((int) Math.max(1, STALE_AFTER.toSeconds()));
                    statement.execute("SELECT 1");
                }
                PGConnection pg = connection.unwrap(PGConnection.class);
                dispatch(pg.getNotifications());
                if (liveSince == Long.MIN_VALUE || sent - lastPingSent > STALE_AFTER.toNanos()) {
                    // First connect, a new channel, a reconnect or a stall: changes may have gone unseen.
                    handlers.forEach(handler -> handler.onGap().run());
                    liveSince = sent;
                }
                lastPingSent = sent;
                dispatch(pg.getNotifications((int) PING.toMillis()));
            } catch (SQLException | RuntimeException e) {
                if (!running) {
                    break;
                }
                LOG.warn("Listening for database notifications failed; caches are bypassed until it reconnects: {}", e.getMessage());
                liveSince = Long.MIN_VALUE;
                listening = 0;
                closeConnection();
                sleep(PING);
            }
        }
        closeConnection();
    }

    private void dispatch(PGNotification[] notifications) {
        if (notifications == null) {
            return;
        }
        for (PGNotification notification : notifications) {
            for (Handler handler : handlers) {
                if (handler.channel().equals(notification.getName())) {
                    handler.onPayload().accept(notification.getParameter());
                }
            }
        }
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // the connection is being dropped anyway
            }
            connection = null;
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
