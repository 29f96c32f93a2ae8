package io.somastack.marketplace;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.policy.Actor;
import io.somastack.policy.CapsuleBundle;
import io.somastack.policy.PolicyEngine;
import io.somastack.policy.PolicyTenant;
import io.somastack.policy.Signatures;
import io.somastack.policy.SignedBundle;
import io.somastack.policy.TrustedKey;
import io.somastack.policy.TrustedKeys;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.OutboxEvent;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;
import tools.jackson.core.type.TypeReference;

/**
 * The capsule catalog: publishing (lint, signature check, content-addressed storage),
 * reading, full-text search and revocation. A capsule name belongs to the tenant that first
 * published it, and so does its {@code publisher} name; versions are immutable. Every change
 * is written with its audit entry and outbox event in one durable transaction. Thread-safe.
 */
public final class Catalog {
    static final String PUBLISHER_ROLE = "publisher";
    /** Relevance added to the text rank (a fraction, usually below 1) for an exact name and for a name prefix. */
    static final double EXACT_NAME_BOOST = 2.0;
    static final double NAME_PREFIX_BOOST = 1.0;

    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final PolicyEngine engine;
    private final TrustedKeys trustedKeys;
    private final CounterSigner counterSigner;
    private final Clock clock;

    public Catalog(Jdbi jdbi, GroupCommit commit, PolicyEngine engine, TrustedKeys trustedKeys, CounterSigner counterSigner, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.engine = requireNonNull(engine, "engine is null");
        this.trustedKeys = requireNonNull(trustedKeys, "trustedKeys is null");
        this.counterSigner = requireNonNull(counterSigner, "counterSigner is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** The result of a publish: the version, and whether this call stored it (false: the very same bundle was there). */
    public record Published(CapsuleVersion version, boolean created) {
    }

    /**
     * Lints and stores {@code signed} for {@code publisherTenant}: every signature must verify
     * with a key the tenant trusts and one of them must be a {@code publisher} key; the bundle must
     * pass every check of {@link io.somastack.policy.BundleReader}; and the publisher's own
     * admission policies must admit it. The decision on record is the publish's outcome
     * ({@link PolicyEngine#admitThen}): admitted with the stored version, denied, or refused
     * with the problem the publisher got when the policies admitted but the publish was refused
     * (the name or publisher name is another tenant's, the version exists with other content).
     * The marketplace countersigns it ({@link CounterSigner}). Publishing the same bundle again
     * is a no-op; another bundle under an existing version is a conflict.
     */
    public Published publish(PolicyTenant publisherTenant, SignedBundle signed, Actor actor) {
        TenantId tenant = publisherTenant.id();
        byte[] packedSha256 = signed.packedSha256();
        List<TrustedKey> signers = Signatures.signerOfEach(signed, packedSha256, trustedKeys.list(tenant));
        if (signers.stream().noneMatch(key -> key.role().equals(PUBLISHER_ROLE))) {
            throw new SomaException(ErrorCode.SIGNATURE_REFUSED, "A capsule is published signed by one of your publisher keys; trust the key "
                    + "with POST /v1/policy/trusted-keys (role publisher) and sign the packed bundle with it", Map.of("reason", "no publisher signature"));
        }
        // The publisher's own admission policies decide too (e.g. no GPL in what we ship), and the decision on record is the
        // publish's outcome: admitted in the transaction that stores the version, or refused with the problem thrown below.
        return engine.admitThen(publisherTenant, signed, actor, (tx, admitted) -> {
            CapsuleBundle bundle = admitted.bundle();
            SemVer version = SemVer.parse(bundle.manifest().version());
            List<CapsuleVersion.PublishedSignature> signatures = new ArrayList<>();
            for (int i = 0; i < signers.size(); i++) {
                TrustedKey key = signers.get(i);
                signatures.add(new CapsuleVersion.PublishedSignature(signed.signatures().get(i).signature(), key.keyId(), key.name(), key.role(),
                        key.publicKeyPem()));
            }
            signatures.add(counterSigner.countersign(signed.packed()));
            Handle handle = tx.handle();
            Instant now = now();
            String name = bundle.manifest().name();
            String publisher = bundle.manifest().publisher();
            handle.createUpdate("""
                    INSERT INTO capsules (name, publisher_tenant, publisher, created_at, updated_at)
                    VALUES (:name, :tenant, :publisher, :now, :now) ON CONFLICT (name) DO NOTHING""")
                    .bind("name", name).bind("tenant", tenant.value()).bind("publisher", publisher).bind("now", now).execute();
            Map<String, Object> owner = handle.createQuery("SELECT publisher_tenant, publisher FROM capsules WHERE name = :name FOR UPDATE")
                    .bind("name", name).mapToMap().one();
            if (!tenant.value().equals(owner.get("publisher_tenant"))) {
                throw new SomaException(ErrorCode.NOT_PUBLISHER, "The capsule name '%s' belongs to another publisher".formatted(name));
            }
            if (!publisher.equals(owner.get("publisher"))) {
                throw new SomaException(ErrorCode.MANIFEST_INVALID, "publisher '%s' differs from the earlier versions' '%s'"
                        .formatted(publisher, owner.get("publisher")), Map.of("reason", "publisher changed"));
            }
            boolean publisherTaken = handle.createQuery("SELECT count(*) FROM capsules WHERE publisher = :publisher AND publisher_tenant <> :tenant")
                    .bind("publisher", publisher).bind("tenant", tenant.value()).mapTo(Long.class).one() > 0;
            if (publisherTaken) {
                throw new SomaException(ErrorCode.NOT_PUBLISHER, "The publisher name '%s' belongs to another tenant".formatted(publisher));
            }
            Optional<CapsuleVersion> existing = version(handle, name, version.text());
            if (existing.isPresent()) {
                if (existing.get().packedSha256().equals(bundle.packedSha256())) {
                    return new Published(existing.get(), false);
                }
                throw new SomaException(ErrorCode.CONFLICT, "%s@%s is already published with other content (digest %s); versions are immutable, publish a new version"
                        .formatted(name, version, existing.get().digest()));
            }
            handle.createUpdate("""
                    INSERT INTO capsule_blobs (sha256, bytes, size, created_at) VALUES (:sha, :bytes, :size, :now)
                    ON CONFLICT (sha256) DO NOTHING""")
                    .bind("sha", bundle.packedSha256()).bind("bytes", signed.packed()).bind("size", (long) signed.packed().length)
                    .bind("now", now).execute();
            handle.createUpdate("""
                    INSERT INTO capsule_versions (name, version, major, minor, patch, prerelease, digest, packed_sha256, size, manifest,
                        licenses, signatures, published_at, published_by)
                    VALUES (:name, :version, :major, :minor, :patch, :prerelease, :digest, :sha, :size, CAST(:manifest AS jsonb),
                        :licenses, CAST(:signatures AS jsonb), :now, :by)""")
                    .bind("name", name).bind("version", version.text()).bind("major", version.major()).bind("minor", version.minor())
                    .bind("patch", version.patch()).bind("prerelease", version.prerelease().orElse(null)).bind("digest", bundle.digest())
                    .bind("sha", bundle.packedSha256()).bind("size", bundle.size()).bind("manifest", Json.text(bundle.manifest().document()))
                    .bindArray("licenses", String.class, bundle.sbom().licenses()).bind("signatures", Json.text(signatures))
                    .bind("now", now).bind("by", actor.name()).execute();
            refreshLatest(handle, name, now);
            Map<String, Object> facts = Map.of("name", name, "version", version.text(), "digest", bundle.digest(), "size", bundle.size(),
                    "signers", signers.stream().map(TrustedKey::keyId).distinct().toList());
            tx.audit(new AuditEntry(Optional.of(tenant), actor.name(), "capsule.publish", name + "@" + version, actor.requestId(), facts));
            tx.publish(new OutboxEvent("io.somastack.capsule.published", name + "@" + version, Optional.of(tenant), facts));
            return new Published(version(handle, name, version.text()).orElseThrow(), true);
        });
    }

    /** The marketplace key that countersigns every published bundle. */
    public CounterSigner counterSigner() {
        return counterSigner;
    }

    /** Who may revoke: the capsule's publisher (a tenant) or the operator. */
    public sealed interface Revoker permits Revoker.Publisher, Revoker.Operator {
        /** The tenant that published the capsule. */
        record Publisher(TenantId tenant) implements Revoker {
        }

        /** The operator of this SomaStack. */
        record Operator() implements Revoker {
        }
    }

    /**
     * Revokes {@code name@version}: it can no longer be installed or run, it leaves the
     * catalog's latest version, and every tenant that has it installed gets an
     * {@code io.somastack.capsule.revoked} event. Revoking twice keeps the first revocation.
     */
    public CapsuleVersion revoke(String name, String version, String reason, Revoker revoker, Actor actor) {
        if (reason == null || reason.isBlank() || reason.length() > 500) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A revocation needs a reason of 1 to 500 characters");
        }
        return commit.execute(tx -> {
            Handle handle = tx.handle();
            Map<String, Object> owner = handle.createQuery("SELECT publisher_tenant FROM capsules WHERE name = :name FOR UPDATE")
                    .bind("name", name).mapToMap().findOne()
                    .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No capsule named '%s'".formatted(name)));
            TenantId publisher = new TenantId((UUID) owner.get("publisher_tenant"));
            if (revoker instanceof Revoker.Publisher(TenantId tenant) && !tenant.equals(publisher)) {
                throw new SomaException(ErrorCode.NOT_PUBLISHER, "Only the publisher of '%s' or the operator may revoke it".formatted(name));
            }
            CapsuleVersion found = version(handle, name, version)
                    .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No version %s of capsule '%s'".formatted(version, name)));
            if (found.revoked()) {
                return found;
            }
            Instant now = now();
            handle.createUpdate("UPDATE capsule_versions SET revoked_at = :now, revoked_by = :by, revoked_reason = :reason WHERE name = :name AND version = :version")
                    .bind("now", now).bind("by", actor.name()).bind("reason", reason).bind("name", name).bind("version", version).execute();
            refreshLatest(handle, name, now);
            List<UUID> installed = handle.createQuery("SELECT tenant_id FROM capsule_installs WHERE name = :name AND version = :version ORDER BY tenant_id")
                    .bind("name", name).bind("version", version).mapTo(UUID.class).list();
            String subject = name + "@" + version;
            for (UUID tenant : installed) {
                tx.publish(new OutboxEvent("io.somastack.capsule.revoked", subject, Optional.of(new TenantId(tenant)),
                        Map.of("name", name, "version", version, "reason", reason, "digest", found.digest())));
            }
            tx.audit(new AuditEntry(Optional.of(publisher), actor.name(), "capsule.revoke", subject, actor.requestId(),
                    Map.of("reason", reason, "installed_tenants", installed.size(), "by", revoker instanceof Revoker.Operator ? "operator" : "publisher")));
            return version(handle, name, version).orElseThrow();
        });
    }

    /** The catalog entry of {@code name}, listed or not (every version revoked). */
    public Optional<CatalogEntry> find(String name) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT *, NULL::real AS relevance FROM capsules WHERE name = :name")
                .bind("name", name).map((rs, ctx) -> entry(rs)).findOne());
    }

    /** Every version of {@code name}, newest first by precedence. */
    public List<CapsuleVersion> versions(String name) {
        List<CapsuleVersion> versions = jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM capsule_versions WHERE name = :name")
                .bind("name", name).map((rs, ctx) -> version(rs)).list());
        return versions.stream().sorted(Comparator.comparing((CapsuleVersion v) -> SemVer.parse(v.version())).reversed()).toList();
    }

    public Optional<CapsuleVersion> version(String name, String version) {
        return jdbi.withHandle(handle -> version(handle, name, version));
    }

    /** The packed bundle stored under {@code packedSha256}. */
    public byte[] bundle(String packedSha256) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT bytes FROM capsule_blobs WHERE sha256 = :sha")
                .bind("sha", packedSha256).mapTo(byte[].class).findOne())
                .orElseThrow(() -> new SomaException(ErrorCode.INTERNAL, "The bundle %s is missing from the store".formatted(packedSha256)));
    }

    /**
     * Listed capsules (with an installable version) matching {@code query}. The text matches
     * the full-text index, or the name: exactly, or as a prefix (a name is one token to a
     * person, {@code acc-cap}, and a prefix is what a person types). An exact name ranks
     * {@link #EXACT_NAME_BOOST} above the text rank, a prefix {@link #NAME_PREFIX_BOOST}.
     */
    public List<CatalogEntry> search(CatalogQuery query) {
        StringBuilder sql = new StringBuilder("SELECT c.*, ");
        sql.append(query.text().isPresent() ? """
                ts_rank(c.search, q) + CASE WHEN c.name = :name THEN %s WHEN c.name LIKE :prefix ESCAPE '!' THEN %s ELSE 0 END AS relevance
                FROM capsules c, websearch_to_tsquery('english', :q) q""".formatted(EXACT_NAME_BOOST, NAME_PREFIX_BOOST)
                : "NULL::real AS relevance FROM capsules c");
        sql.append(" WHERE c.latest_version IS NOT NULL");
        query.text().ifPresent(text -> sql.append(" AND (c.search @@ q OR c.name = :name OR c.name LIKE :prefix ESCAPE '!')"));
        query.publisher().ifPresent(publisher -> sql.append(" AND c.publisher = :publisher"));
        query.tag().ifPresent(tag -> sql.append(" AND c.tags @> ARRAY[CAST(:tag AS text)]"));
        query.license().ifPresent(license -> sql.append(" AND c.license = :license"));
        query.priceSku().ifPresent(sku -> sql.append(" AND c.price_sku = :sku"));
        query.free().ifPresent(free -> sql.append(free ? " AND c.price_sku IS NULL" : " AND c.price_sku IS NOT NULL"));
        sql.append(" ORDER BY ").append(switch (query.sort()) {
            case RELEVANCE -> "relevance DESC, c.name";
            case RANK -> "c.success_lower_bound DESC NULLS LAST, c.name";
            case LATENCY -> "c.p95_ms ASC NULLS LAST, c.name";
            case COST -> "c.cost_per_run ASC NULLS LAST, c.name";
            case NEWEST -> "c.updated_at DESC, c.name";
            case NAME -> "c.name";
        });
        sql.append(" LIMIT :limit OFFSET :offset");
        return jdbi.withHandle(handle -> {
            Query statement = handle.createQuery(sql.toString()).bind("limit", query.limit()).bind("offset", query.offset());
            query.text().ifPresent(text -> {
                String name = text.strip().toLowerCase(Locale.ROOT);
                // '!' escapes LIKE's wildcards ('!' rather than a backslash, which JDBI's statement parser reads as its own escape).
                statement.bind("q", text).bind("name", name).bind("prefix", name.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%");
            });
            query.publisher().ifPresent(publisher -> statement.bind("publisher", publisher));
            query.tag().ifPresent(tag -> statement.bind("tag", tag));
            query.license().ifPresent(license -> statement.bind("license", license));
            query.priceSku().ifPresent(sku -> statement.bind("sku", sku));
            return statement.map((rs, ctx) -> entry(rs)).list();
        });
    }

    /** Points the catalog row of {@code name} at its newest installable version (none if all are revoked). */
    private static void refreshLatest(Handle handle, String name, Instant now) {
        List<CapsuleVersion> live = handle.createQuery("SELECT * FROM capsule_versions WHERE name = :name AND revoked_at IS NULL")
                .bind("name", name).map((rs, ctx) -> version(rs)).list();
        Optional<CapsuleVersion> latest = newest(live);
        if (latest.isEmpty()) {
            handle.createUpdate("UPDATE capsules SET latest_version = NULL, updated_at = :now WHERE name = :name")
                    .bind("now", now).bind("name", name).execute();
            return;
        }
        Map<String, Object> manifest = latest.get().manifest();
        @SuppressWarnings("unchecked")
        List<String> tags = (List<String>) manifest.getOrDefault("tags", List.of());
        String description = String.valueOf(manifest.getOrDefault("description", ""));
        // The search vector: name (A), publisher and tags (B), description (C), each as written, so a hyphenated name or tag is
        // indexed whole and by its parts, as websearch_to_tsquery asks for it. V6_3 rebuilt older rows with this same formula.
        handle.createUpdate("""
                UPDATE capsules SET latest_version = :version, description = :description, tags = :tags, license = :license,
                    price_sku = :sku, updated_at = :now,
                    search = setweight(to_tsvector('english', :name), 'A') || setweight(to_tsvector('english', publisher), 'B')
                        || setweight(to_tsvector('english', :tagWords), 'B') || setweight(to_tsvector('english', :description), 'C')
                WHERE name = :name""")
                .bind("version", latest.get().version()).bind("description", description).bindArray("tags", String.class, tags)
                .bind("license", (String) manifest.get("license")).bind("sku", (String) manifest.get("price_sku")).bind("now", now)
                .bind("tagWords", String.join(" ", tags))
                .bind("name", name).execute();
    }

    /** The highest release by precedence, else the highest pre-release. */
    static Optional<CapsuleVersion> newest(List<CapsuleVersion> versions) {
        Comparator<CapsuleVersion> precedence = Comparator.comparing(version -> SemVer.parse(version.version()));
        Optional<CapsuleVersion> release = versions.stream().filter(version -> SemVer.parse(version.version()).isRelease()).max(precedence);
        return release.isPresent() ? release : versions.stream().max(precedence);
    }

    private static Optional<CapsuleVersion> version(Handle handle, String name, String version) {
        return handle.createQuery("SELECT * FROM capsule_versions WHERE name = :name AND version = :version")
                .bind("name", name).bind("version", version).map((rs, ctx) -> version(rs)).findOne();
    }

    private static CapsuleVersion version(ResultSet rs) throws SQLException {
        Optional<CapsuleVersion.Revocation> revocation = rs.getTimestamp("revoked_at") == null ? Optional.empty()
                : Optional.of(new CapsuleVersion.Revocation(rs.getTimestamp("revoked_at").toInstant(), rs.getString("revoked_by"),
                        rs.getString("revoked_reason")));
        return new CapsuleVersion(rs.getString("name"), rs.getString("version"), rs.getString("digest"), rs.getString("packed_sha256"),
                rs.getLong("size"), Json.mapper().readValue(rs.getString("manifest"), new TypeReference<LinkedHashMap<String, Object>>() { }),
                strings(rs.getArray("licenses")),
                Json.mapper().readValue(rs.getString("signatures"), new TypeReference<List<CapsuleVersion.PublishedSignature>>() { }),
                rs.getTimestamp("published_at").toInstant(), rs.getString("published_by"), revocation);
    }

    private static CatalogEntry entry(ResultSet rs) throws SQLException {
        long runs = rs.getLong("runs");
        Ranking ranking = runs == 0 ? Ranking.NONE : new Ranking(runs, rs.getLong("successes"), optionalDouble(rs, "success_lower_bound"),
                optionalDouble(rs, "p50_ms"), optionalDouble(rs, "p95_ms"),
                Optional.ofNullable(rs.getBigDecimal("cost_per_run")).map(Money::of),
                Optional.ofNullable(rs.getTimestamp("stats_at")).map(Timestamp::toInstant));
        return new CatalogEntry(rs.getString("name"), rs.getString("publisher"), Optional.ofNullable(rs.getString("latest_version")),
                rs.getString("description"), strings(rs.getArray("tags")), Optional.ofNullable(rs.getString("license")),
                Optional.ofNullable(rs.getString("price_sku")), rs.getTimestamp("updated_at").toInstant(), ranking,
                optionalDouble(rs, "relevance"));
    }

    private static Optional<Double> optionalDouble(ResultSet rs, String column) throws SQLException {
        double value = rs.getDouble(column);
        return rs.wasNull() ? Optional.empty() : Optional.of(value);
    }

    private static List<String> strings(Array array) throws SQLException {
        return array == null ? List.of() : Arrays.asList((String[]) array.getArray());
    }

    private Instant now() {
        return clock.now().truncatedTo(ChronoUnit.MICROS);
    }
}
