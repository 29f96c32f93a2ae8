package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.Guard;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.policy.internal.PolicyCompiler;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;

/**
 * The constitution capability, assembled: bundle reading, trusted keys, policies, the
 * engine, the decision record and the HTTP routes. No lifecycle of its own (state lives in
 * PostgreSQL; the compiled-policy cache is memory only).
 *
 * <pre>{@code
 * Constitution constitution = Constitution.create(config.policy(), database, commit, clock, ids);
 * web.routes.apiBuilder(constitution.routes(guard));
 * Admission admission = constitution.engine().admit(tenant, signedBundle, actor);
 * }</pre>
 */
public final class Constitution {
    private final BundleReader bundles;
    private final TrustedKeys trustedKeys;
    private final Policies policies;
    private final Decisions decisions;
    private final PolicyEngine engine;

    private Constitution(BundleReader bundles, TrustedKeys trustedKeys, Policies policies, Decisions decisions, PolicyEngine engine) {
        this.bundles = bundles;
        this.trustedKeys = trustedKeys;
        this.policies = policies;
        this.decisions = decisions;
        this.engine = engine;
    }

    public static Constitution create(PolicyConfig config, Database database, GroupCommit commit, Clock clock, Ids ids) {
        requireNonNull(config, "config is null");
        requireNonNull(database, "database is null");
        PolicyCompiler compiler = new PolicyCompiler();
        BundleReader bundles = new BundleReader(config.bundleLimits());
        TrustedKeys trustedKeys = new TrustedKeys(database.jdbi(), commit, clock);
        Policies policies = new Policies(database.jdbi(), commit, clock, compiler, config.cacheTtl());
        Decisions decisions = new Decisions(database.jdbi(), commit);
        PolicyEngine engine = new PolicyEngine(bundles, trustedKeys, policies, decisions, compiler, clock, ids);
        return new Constitution(bundles, trustedKeys, policies, decisions, engine);
    }

    public BundleReader bundles() {
        return bundles;
    }

    public TrustedKeys trustedKeys() {
        return trustedKeys;
    }

    public Policies policies() {
        return policies;
    }

    public Decisions decisions() {
        return decisions;
    }

    public PolicyEngine engine() {
        return engine;
    }

    /** The HTTP routes, authorized by {@code guard}. */
    public PolicyRoutes routes(Guard guard) {
        return new PolicyRoutes(guard, this);
    }
}
