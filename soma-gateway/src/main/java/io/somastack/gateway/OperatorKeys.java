package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.util.Optional;
import java.util.Set;
import org.jdbi.v3.core.Jdbi;

/**
 * The operator key that guards {@code /v1/admin}. {@code SOMA_ADMIN_KEY} sets it; without it,
 * the first start of an installation generates one, stores its hash and returns it once, to
 * be printed. Hashes are cached: the set changes only at start-up. Thread-safe after start.
 */
public final class OperatorKeys {
    private final Jdbi jdbi;
    private final Clock clock;
    private volatile Set<String> hashes = Set.of();

    public OperatorKeys(Jdbi jdbi, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * Registers the configured key, or makes one if the installation has none.
     *
     * @return a newly generated key, which the caller must show to the operator once
     */
    public Optional<String> start(Optional<String> configured, Tenants tenants) {
        Optional<String> generated = Optional.empty();
        if (configured.isPresent()) {
            store(configured.get());
        } else if (jdbi.withHandle(handle -> handle.createQuery("SELECT count(*) FROM operator_keys").mapTo(Long.class).one()) == 0) {
            String key = "sk-soma-admin-" + tenants.randomText(40);
            store(key);
            generated = Optional.of(key);
        }
        hashes = Set.copyOf(jdbi.withHandle(handle -> handle.createQuery("SELECT hash FROM operator_keys").mapTo(String.class).list()));
        return generated;
    }

    public boolean matches(String candidate) {
        byte[] hash = Tenants.hash(candidate).getBytes(StandardCharsets.UTF_8);
        boolean match = false;
        for (String known : hashes) {
            match |= MessageDigest.isEqual(hash, known.getBytes(StandardCharsets.UTF_8));
        }
        return match;
    }

    private void store(String key) {
        jdbi.useHandle(handle -> handle.createUpdate("INSERT INTO operator_keys (hash, created_at) VALUES (:hash, :now) ON CONFLICT DO NOTHING")
                .bind("hash", Tenants.hash(key)).bind("now", Timestamp.from(clock.now())).execute());
    }
}
