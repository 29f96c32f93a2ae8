package io.somastack.marketplace;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.policy.Actor;
import io.somastack.policy.PolicyEngine;
import io.somastack.policy.PolicyTenant;
import io.somastack.policy.SignedBundle;
import io.somastack.policy.TrustedKey;
import io.somastack.policy.TrustedKeys;
import io.somastack.policy.Violation;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.OutboxEvent;
import io.somastack.store.Tx;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.BiFunction;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Capsules installed in tenants. Installing and updating run the tenant's admission
 * policies ({@link PolicyEngine#admit}) on the stored bundle with the signatures whose keys
 * the tenant knows (a signature by a key it never trusted is not presented; one by a key it
 * revoked is, and refuses the bundle); a denial is a 403 naming the policy and the decision.
 * {@link #runnable} is the gate the turn loop asks before every run: a revoked version
 * answers 410 from the next request on. Thread-safe.
 */
public final class Installs {
    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final Catalog catalog;
    private final PolicyEngine engine;
    private final TrustedKeys trustedKeys;
    private final Clock clock;
    private final List<ManifestCheck> manifestChecks = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * A check another module makes of a capsule's manifest when a tenant installs or updates it
     * (soma-workflows checks the {@code team:} section's graph against the tenant's installs).
     */
    @FunctionalInterface
    public interface ManifestCheck {
        /** The problems of {@code manifest} (of capsule {@code name}) in {@code tenant}; empty when it may be installed. */
        List<String> problems(TenantId tenant, String name, Map<String, Object> manifest);
    }

    /** Adds a check run before admission on every install and update; its problems refuse the install, all listed (400). */
    public void addManifestCheck(ManifestCheck check) {
        manifestChecks.add(requireNonNull(check, "check is null"));
    }

    public Installs(Jdbi jdbi, GroupCommit commit, Catalog catalog, PolicyEngine engine, TrustedKeys trustedKeys, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.catalog = requireNonNull(catalog, "catalog is null");
        this.engine = requireNonNull(engine, "engine is null");
        this.trustedKeys = requireNonNull(trustedKeys, "trustedKeys is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** The outcome of an install or update: the install as it now stands, and whether this call changed it. */
    public record Change(Installed installed, boolean changed) {
    }

    /**
     * Installs {@code version} (default: the catalog's latest) of {@code name} into {@code tenant}.
     * Installing what is already installed is a no-op; another version is a conflict (use {@link #update}).
     */
    public Change install(PolicyTenant tenant, String name, Optional<String> version, Actor actor) {
        CapsuleVersion target = resolve(name, version);
        Optional<Installed> current = find(tenant.id(), name);
        if (current.isPresent()) {
            if (current.get().version().equals(target.version())) {
                return new Change(current.get(), false);
            }
            throw new SomaException(ErrorCode.CONFLICT, "%s is installed at version %s; update it with POST /v1/capsules/%s/update"
                    .formatted(name, current.get().version(), name));
        }
        Instant now = now();
        return admitThen(tenant, target, actor, (tx, decision) -> {
            int inserted = tx.handle().createUpdate("""
                    INSERT INTO capsule_installs (tenant_id, name, version, digest, decision_id, installed_at, installed_by, updated_at)
                    VALUES (:tenant, :name, :version, :digest, :decision, :now, :by, :now) ON CONFLICT (tenant_id, name) DO NOTHING""")
                    .bind("tenant", tenant.id().value()).bind("name", name).bind("version", target.version()).bind("digest", target.digest())
                    .bind("decision", decision).bind("now", now).bind("by", actor.name()).execute();
            Installed installed = find(tx.handle(), tenant.id(), name).orElseThrow();
            if (inserted == 0) {
                if (installed.version().equals(target.version())) {
                    return new Change(installed, false);
                }
                throw new SomaException(ErrorCode.CONFLICT, "%s was installed at version %s meanwhile".formatted(name, installed.version()));
            }
            record(tx, "capsule.install", "io.somastack.capsule.installed", installed, Optional.empty(), actor);
            return new Change(installed, true);
        });
    }

    /**
     * Moves {@code tenant}'s install of {@code name} to {@code version} (default: the catalog's
     * latest), which must be newer; admission runs again. Already there is a no-op.
     */
    public Change update(PolicyTenant tenant, String name, Optional<String> version, Actor actor) {
        Installed current = find(tenant.id(), name)
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "%s is not installed; install it first".formatted(name)));
        CapsuleVersion target = resolve(name, version);
        int order = SemVer.parse(target.version()).compareTo(SemVer.parse(current.version()));
        if (order == 0) {
            return new Change(current, false);
        }
        if (order < 0) {
            throw new SomaException(ErrorCode.CONFLICT, "%s is installed at %s, newer than %s; an update only moves forward (uninstall, then install the older version)"
                    .formatted(name, current.version(), target.version()));
        }
        Instant now = now();
        return admitThen(tenant, target, actor, (tx, decision) -> {
            int updated = tx.handle().createUpdate("""
                    UPDATE capsule_installs SET version = :version, digest = :digest, decision_id = :decision, updated_at = :now
                    WHERE tenant_id = :tenant AND name = :name AND version = :from""")
                    .bind("version", target.version()).bind("digest", target.digest()).bind("decision", decision).bind("now", now)
                    .bind("tenant", tenant.id().value()).bind("name", name).bind("from", current.version()).execute();
            if (updated == 0) {
                throw new SomaException(ErrorCode.CONFLICT, "The install of %s changed meanwhile; look again and retry".formatted(name));
            }
            Installed installed = find(tx.handle(), tenant.id(), name).orElseThrow();
            record(tx, "capsule.update", "io.somastack.capsule.updated", installed, Optional.of(current.version()), actor);
            return new Change(installed, true);
        });
    }

    /** Removes {@code name} from {@code tenant}; false if it was not installed. */
    public boolean uninstall(TenantId tenant, String name, Actor actor) {
        return commit.execute(tx -> {
            Optional<Installed> current = find(tx.handle(), tenant, name);
            if (current.isEmpty()) {
                return false;
            }
            tx.handle().createUpdate("DELETE FROM capsule_installs WHERE tenant_id = :tenant AND name = :name")
                    .bind("tenant", tenant.value()).bind("name", name).execute();
            record(tx, "capsule.uninstall", "io.somastack.capsule.uninstalled", current.get(), Optional.empty(), actor);
            return true;
        });
    }

    /** What {@code tenant} may run as {@code name}: 404 if not installed, 410 if the installed version was revoked. */
    public Installed runnable(TenantId tenant, String name) {
        Installed installed = find(tenant, name)
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "%s is not installed in this tenant".formatted(name)));
        installed.revocation().ifPresent(revocation -> {
            throw revoked(name, installed.version(), revocation);
        });
        return installed;
    }

    public Optional<Installed> find(TenantId tenant, String name) {
        return jdbi.withHandle(handle -> find(handle, tenant, name));
    }

    public List<Installed> list(TenantId tenant) {
        return jdbi.withHandle(handle -> handle.createQuery(SELECT + " WHERE i.tenant_id = :tenant ORDER BY i.name")
                .bind("tenant", tenant.value()).map((rs, ctx) -> installed(rs)).list());
    }

    private static final String SELECT = """
            SELECT i.*, v.revoked_at, v.revoked_by, v.revoked_reason
            FROM capsule_installs i JOIN capsule_versions v ON v.name = i.name AND v.version = i.version""";

    private static Optional<Installed> find(Handle handle, TenantId tenant, String name) {
        return handle.createQuery(SELECT + " WHERE i.tenant_id = :tenant AND i.name = :name")
                .bind("tenant", tenant.value()).bind("name", name).map((rs, ctx) -> installed(rs)).findOne();
    }

    private CapsuleVersion resolve(String name, Optional<String> version) {
        CatalogEntry entry = catalog.find(name).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No capsule named '%s'".formatted(name)));
        String wanted = version.orElseGet(() -> entry.latestVersion().orElseThrow(() -> new SomaException(ErrorCode.CAPSULE_REVOKED,
                "Every version of %s is revoked".formatted(name), Map.of("name", name))));
        SemVer.parse(wanted);
        CapsuleVersion target = catalog.version(name, wanted)
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No version %s of capsule '%s'".formatted(wanted, name)));
        target.revocation().ifPresent(revocation -> {
            throw revoked(name, wanted, revocation);
        });
        return target;
    }

    /**
     * Runs admission on the stored bundle, then {@code write} with the admitted decision's id in
     * the transaction that records it ({@link PolicyEngine#admitThen}): a denial is a 403, and a
     * write refused after admission leaves the decision on record as refused.
     */
    private <T> T admitThen(PolicyTenant tenant, CapsuleVersion target, Actor actor, BiFunction<Tx, UUID, T> write) {
        List<String> problems = manifestChecks.stream().flatMap(check -> check.problems(tenant.id(), target.name(), target.manifest()).stream()).toList();
        if (!problems.isEmpty()) {
            throw new SomaException(ErrorCode.MANIFEST_INVALID, "%s@%s cannot be installed: its capsule.yaml has %d problem%s: %s".formatted(target.name(),
                    target.version(), problems.size(), problems.size() == 1 ? "" : "s", String.join("; ", problems)), Map.of("errors", problems));
        }
        return engine.admitThen(tenant, signed(tenant, target), actor, (tx, admitted) -> write.apply(tx, admitted.decisionId()));
    }

    /**
     * Whether installing {@code version} (default: the catalog's latest) of {@code name} would pass
     * the tenant's admission policies now: a dry run ({@link PolicyEngine#wouldAdmit}) that records
     * no decision. Empty when it would be admitted, else the policy that would deny it.
     */
    public Optional<Violation> wouldAdmit(PolicyTenant tenant, String name, Optional<String> version, Actor actor) {
        return engine.wouldAdmit(tenant, signed(tenant, resolve(name, version)), actor);
    }

    /** The stored bundle with the signatures whose keys the tenant trusts, as admission is shown it. */
    private SignedBundle signed(PolicyTenant tenant, CapsuleVersion target) {
        Set<String> known = trustedKeys.list(tenant.id()).stream().map(TrustedKey::keyId).collect(Collectors.toSet());
        List<SignedBundle.BundleSignature> presented = target.signatures().stream().filter(signature -> known.contains(signature.keyId()))
                .map(signature -> new SignedBundle.BundleSignature(signature.signature(), Optional.of(signature.keyId()))).toList();
        return new SignedBundle(catalog.bundle(target.packedSha256()), presented);
    }

    private static SomaException revoked(String name, String version, CapsuleVersion.Revocation revocation) {
        return new SomaException(ErrorCode.CAPSULE_REVOKED, "%s@%s was revoked at %s: %s".formatted(name, version, revocation.at(), revocation.reason()),
                Map.of("name", name, "version", version, "reason", revocation.reason()));
    }

    private static void record(Tx tx, String action, String event, Installed installed, Optional<String> from, Actor actor) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("name", installed.name());
        facts.put("version", installed.version());
        facts.put("digest", installed.digest());
        facts.put("decision_id", installed.decisionId().toString());
        from.ifPresent(version -> facts.put("from_version", version));
        String subject = installed.name() + "@" + installed.version();
        tx.audit(new AuditEntry(Optional.of(installed.tenant()), actor.name(), action, subject, actor.requestId(), facts));
        tx.publish(new OutboxEvent(event, subject, Optional.of(installed.tenant()), facts));
    }

    private static Installed installed(ResultSet rs) throws SQLException {
        Optional<CapsuleVersion.Revocation> revocation = rs.getTimestamp("revoked_at") == null ? Optional.empty()
                : Optional.of(new CapsuleVersion.Revocation(rs.getTimestamp("revoked_at").toInstant(), rs.getString("revoked_by"),
                        rs.getString("revoked_reason")));
        return new Installed(new TenantId((UUID) rs.getObject("tenant_id")), rs.getString("name"), rs.getString("version"),
                rs.getString("digest"), (UUID) rs.getObject("decision_id"), rs.getTimestamp("installed_at").toInstant(),
                rs.getString("installed_by"), rs.getTimestamp("updated_at").toInstant(), revocation);
    }

    private Instant now() {
        return clock.now().truncatedTo(ChronoUnit.MICROS);
    }
}
