package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.regex.Pattern;

/**
 * Where a memory lives and who may see it: {@code tenant} (shared by the whole tenant, id is
 * empty), or {@code agent}, {@code user} or {@code conversation} with an id. Which scopes a
 * caller may read and write is decided by {@link Caller}.
 *
 * <pre>{@code Scope scope = Scope.of("agent", "support-bot");}</pre>
 */
public record Scope(ScopeKind kind, String id) {
    private static final Pattern ID = Pattern.compile("^[A-Za-z0-9._:@-]{1,128}$");

    public Scope {
        requireNonNull(kind, "kind is null");
        requireNonNull(id, "id is null");
        if (kind == ScopeKind.TENANT && !id.isEmpty()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A tenant scope has no id (got '%s')".formatted(id));
        }
        if (kind != ScopeKind.TENANT && !ID.matcher(id).matches()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "A %s scope needs an id of 1-128 letters, digits, '.', '_', ':', '@' or '-' (got '%s')".formatted(kind.wireName(), id));
        }
    }

    /** The tenant-wide scope. */
    public static Scope tenant() {
        return new Scope(ScopeKind.TENANT, "");
    }

    /** Parses wire values; a null id is empty. */
    public static Scope of(String kind, String id) {
        if (kind == null) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "scope.kind is required");
        }
        return new Scope(ScopeKind.parse(kind), id == null ? "" : id);
    }

    /** {@code kind:id}, the form used in the index and in messages. */
    public String key() {
        return kind.wireName() + ":" + id;
    }

    @Override
    public String toString() {
        return key();
    }
}
