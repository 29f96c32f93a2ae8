package io.somastack.policy;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** The constitution on a fresh database in the test PostgreSQL, with the real group commit, audit log and outbox. */
public final class TestConstitution implements AutoCloseable {
    final Clock clock = Clock.system();
    final Ids ids = new Ids(clock);
    final Database database;
    final AuditLog auditLog = new AuditLog(clock);
    final GroupCommit commit;
    final Constitution constitution;

    TestConstitution() {
        database = TestDatabase.create();
        commit = new GroupCommit(database.jdbi(), auditLog, new Outbox(clock, ids), 64, 2);
        constitution = Constitution.create(PolicyConfig.defaults(), database, commit, clock, ids);
    }

    static PolicyTenant tenant(String tier) {
        return new PolicyTenant(new TenantId(UUID.randomUUID()), tier);
    }

    static Actor actor() {
        return new Actor("key:" + UUID.randomUUID(), "req-" + UUID.randomUUID());
    }

    /** Trusts a new publisher key for {@code tenant}; returns the keys. */
    SigningKeys trustPublisher(PolicyTenant tenant) {
        SigningKeys keys = Signatures.generate();
        constitution.trustedKeys().add(tenant.id(), "acme release key", "publisher", keys.publicKeyPem(), actor());
        return keys;
    }

    static SignedBundle signed(byte[] packed, SigningKeys... signers) {
        return new SignedBundle(packed, java.util.Arrays.stream(signers)
                .map(keys -> new SignedBundle.BundleSignature(Signatures.sign(keys.privateKeyPem(), packed), Optional.empty())).toList());
    }

    void install(PolicyTenant tenant, String... examples) {
        for (String example : examples) {
            constitution.policies().create(tenant.id(), ExamplePolicies.load(example), actor());
        }
    }

    long count(String sql) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(Long.class).one());
    }

    List<String> strings(String sql) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(String.class).list());
    }

    @Override
    public void close() {
        commit.close();
        database.close();
    }
}
