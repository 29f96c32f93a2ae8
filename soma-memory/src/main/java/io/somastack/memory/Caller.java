package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.util.Set;
import java.util.UUID;

/**
 * Who asks, as memory sees it, and the access rules that follow from it. Nothing ever crosses
 * tenants. A key without {@code agent:} restrictions reads and writes every scope of its
 * tenant. A key restricted to agents A:
 * <ul>
 *   <li>reads the tenant scope, the agent scopes of A, and every user and conversation scope;</li>
 *   <li>writes the agent scopes of A and every user and conversation scope, but not the tenant
 *       scope (shared knowledge is curated by unrestricted keys);</li>
 *   <li>never reads or writes the scope of an agent outside A.</li>
 * </ul>
 *
 * @param agents the agent restriction; empty means any agent
 * @param actor the audit actor, e.g. {@code key:<id>}
 * @param requestId the request id the client saw
 */
public record Caller(TenantId tenantId, UUID keyId, String actor, Set<String> agents, String requestId) {
    public Caller {
        requireNonNull(tenantId, "tenantId is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(actor, "actor is null");
        agents = Set.copyOf(agents);
        requireNonNull(requestId, "requestId is null");
    }

    public boolean isRestricted() {
        return !agents.isEmpty();
    }

    public boolean mayRead(Scope scope) {
        return switch (scope.kind()) {
            case TENANT, USER, CONVERSATION -> true;
            case AGENT -> !isRestricted() || agents.contains(scope.id());
        };
    }

    public boolean mayWrite(Scope scope) {
        return switch (scope.kind()) {
            case TENANT -> !isRestricted();
            case USER, CONVERSATION -> true;
            case AGENT -> !isRestricted() || agents.contains(scope.id());
        };
    }

    /** Throws {@link ErrorCode#INSUFFICIENT_SCOPE} unless this caller may read {@code scope}. */
    public void requireRead(Scope scope) {
        if (!mayRead(scope)) {
            throw new SomaException(ErrorCode.INSUFFICIENT_SCOPE,
                    "This key is restricted to agents %s and may not read scope %s".formatted(agents, scope));
        }
    }

    /** Throws {@link ErrorCode#INSUFFICIENT_SCOPE} unless this caller may write {@code scope}. */
    public void requireWrite(Scope scope) {
        if (!mayWrite(scope)) {
            throw new SomaException(ErrorCode.INSUFFICIENT_SCOPE,
                    "This key is restricted to agents %s and may not write scope %s".formatted(agents, scope));
        }
    }
}
