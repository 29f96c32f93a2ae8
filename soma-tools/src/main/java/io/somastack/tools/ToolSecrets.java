package io.somastack.tools;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Aead;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;

/**
 * A tenant's tool credentials (e.g. the value of an {@code Authorization} header), sealed with
 * AES-256-GCM ({@link Aead}) under the node's tools secrets key, the associated data being
 * {@code <tenant id>/<name>} so a sealed value copied to another tenant or name does not open.
 * A value is only ever opened to send it to a tool host ({@link ToolSettings#headers}); it is
 * never logged, returned, audited or put in an event, and error messages never quote it.
 * Thread-safe.
 */
public final class ToolSecrets {
    /** A secret's name: lower-case letters, digits, '.', '_' and '-', at most 64. */
    public static final Pattern NAME = Pattern.compile("^[a-z0-9][a-z0-9_.-]{0,63}$");
    /** The longest value, in characters. */
    public static final int MAX_VALUE_CHARS = 8192;

    private final Jdbi jdbi;
    private final Aead aead;
    private final Clock clock;

    ToolSecrets(Jdbi jdbi, Aead aead, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.aead = requireNonNull(aead, "aead is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** A secret as listed: its name and times, never its value. */
    public record Info(String name, Instant createdAt, Instant updatedAt) {
    }

    /** The outcome of a put: the secret's info, and whether it was created (else replaced). */
    public record Put(Info info, boolean created) {
    }

    /** Seals and stores {@code value} as {@code tenant}'s secret {@code name}, replacing any earlier value. */
    public Put put(TenantId tenant, String name, String value) {
        requireName(name);
        requireValue(value);
        byte[] sealed = aead.seal(value.getBytes(StandardCharsets.UTF_8), associatedData(tenant, name));
        Instant now = clock.now().truncatedTo(ChronoUnit.MICROS);
        return jdbi.withHandle(handle -> handle.createQuery("""
                INSERT INTO tool_secrets (tenant_id, name, sealed, created_at, updated_at) VALUES (:tenant, :name, :sealed, :now, :now)
                ON CONFLICT (tenant_id, name) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = EXCLUDED.updated_at
                RETURNING created_at, updated_at, (xmax = 0) AS created""")
                .bind("tenant", tenant.value()).bind("name", name).bind("sealed", sealed).bind("now", now)
                .map((rs, ctx) -> new Put(new Info(name, rs.getTimestamp("created_at").toInstant(), rs.getTimestamp("updated_at").toInstant()),
                        rs.getBoolean("created"))).one());
    }

    /** Deletes {@code tenant}'s secret {@code name}; false if there was none. Settings naming it then answer 409 when called. */
    public boolean delete(TenantId tenant, String name) {
        requireName(name);
        return jdbi.withHandle(handle -> handle.createUpdate("DELETE FROM tool_secrets WHERE tenant_id = :tenant AND name = :name")
                .bind("tenant", tenant.value()).bind("name", name).execute()) > 0;
    }

    /** {@code tenant}'s secrets by name: names and times only. */
    public List<Info> list(TenantId tenant) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT name, created_at, updated_at FROM tool_secrets WHERE tenant_id = :tenant ORDER BY name")
                .bind("tenant", tenant.value()).map((rs, ctx) -> new Info(rs.getString("name"), rs.getTimestamp("created_at").toInstant(),
                        rs.getTimestamp("updated_at").toInstant())).list());
    }

    /** The values of {@code tenant}'s secrets {@code names}, opened; a name without a secret is absent from the map. */
    Map<String, String> open(TenantId tenant, Collection<String> names) {
        Map<String, String> values = new LinkedHashMap<>();
        if (names.isEmpty()) {
            return values;
        }
        jdbi.withHandle(handle -> handle.createQuery("SELECT name, sealed FROM tool_secrets WHERE tenant_id = :tenant AND name = ANY(:names)")
                .bind("tenant", tenant.value()).bindArray("names", String.class, List.copyOf(names))
                .map((rs, ctx) -> Map.entry(rs.getString("name"), rs.getBytes("sealed"))).list())
                .forEach(row -> {
                    try {
                        values.put(row.getKey(), new String(aead.open(row.getValue(), associatedData(tenant, row.getKey())), StandardCharsets.UTF_8));
                    } catch (IllegalArgumentException e) {
                        // Sealed under another key (nodes not sharing SOMA_TOOLS_SECRETS_KEY) or moved from another row.
                        throw new SomaException(ErrorCode.TOOL_SECRET_MISSING, ("The tool secret '%s' does not open with this node's key: "
                                + "put it again (do the nodes share SOMA_TOOLS_SECRETS_KEY?)").formatted(row.getKey()), Map.of("secret", row.getKey()));
                    }
                });
        return values;
    }

    private static byte[] associatedData(TenantId tenant, String name) {
        return (tenant.value() + "/" + name).getBytes(StandardCharsets.UTF_8);
    }

    static void requireName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A tool secret's name is 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
        }
    }

    /** A value goes into an HTTP header: visible ASCII, spaces and tabs only. The message never quotes it. */
    private static void requireValue(String value) {
        if (value == null || value.isEmpty() || value.length() > MAX_VALUE_CHARS) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A tool secret's value is a string of 1 to %d characters".formatted(MAX_VALUE_CHARS));
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c != '\t' && (c < 0x20 || c > 0x7e)) {
                throw new SomaException(ErrorCode.INVALID_REQUEST,
                        "A tool secret's value is sent as an HTTP header: visible ASCII, spaces and tabs only (character %d is not)".formatted(i + 1));
            }
        }
        if (value.isBlank()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A tool secret's value is not only spaces");
        }
    }
}
