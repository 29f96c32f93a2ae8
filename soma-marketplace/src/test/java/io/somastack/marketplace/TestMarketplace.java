package io.somastack.marketplace;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.policy.Constitution;
import io.somastack.policy.PolicyConfig;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import io.somastack.policy.TestCapsules;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The marketplace on a fresh database behind the real gateway pieces, with helpers to make and sign capsules. */
final class TestMarketplace implements AutoCloseable {
    final Clock clock = Clock.system();
    final Ids ids = new Ids(clock);
    final Database database = TestDatabase.create();
    final GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 64, 2);
    final Constitution constitution = Constitution.create(PolicyConfig.defaults(), database, commit, clock, ids);
    final Marketplace marketplace = Marketplace.create(MarketplaceConfig.defaults(), database, commit, constitution, clock, ids);
    final TestGateway gateway = new TestGateway(database, commit, clock, ids, new SimpleMeterRegistry(), Set.of(MarketplaceRoutes.PUBLISH),
            guard -> routes(guard));
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private io.javalin.apibuilder.EndpointGroup routes(io.somastack.gateway.Guard guard) {
        io.javalin.apibuilder.EndpointGroup policy = constitution.routes(guard);
        io.javalin.apibuilder.EndpointGroup market = marketplace.routes(guard);
        return () -> {
            policy.addEndpoints();
            market.addEndpoints();
        };
    }

    /** A publisher: a tenant whose key may publish, and a signing key it trusts (registered over HTTP). */
    record Publisher(String apiKey, SigningKeys keys) {
    }

    Publisher publisher(String tenantName) {
        String apiKey = gateway.tenantKey(tenantName, "capsules:read", "capsules:write", "policy:read", "policy:write");
        SigningKeys keys = Signatures.generate();
        trust(apiKey, keys, "publisher");
        return new Publisher(apiKey, keys);
    }

    void trust(String apiKey, SigningKeys keys, String role) {
        TestGateway.Response trusted = gateway.send("POST", "/v1/policy/trusted-keys", apiKey,
                Json.text(Map.of("name", "release key " + keys.keyId().substring(7, 15), "role", role, "public_key_pem", keys.publicKeyPem())));
        if (trusted.status() != 201) {
            throw new AssertionError(trusted.raw().body());
        }
    }

    static byte[] bundle(String name, String version, String publisher, String description) {
        return bundle(TestCapsules.listing(name, version, publisher, description, List.of("demo"), "MIT", null));
    }

    static byte[] bundle(String manifest) {
        return TestCapsules.zip(TestCapsules.files(manifest, TestCapsules.sbom("is-number.cdx.json")));
    }

    /** Publishes {@code bundle} as {@code application/zip} signed by {@code signers}. */
    HttpResponse<String> publishZip(String apiKey, byte[] bundle, SigningKeys... signers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(gateway.baseUrl() + MarketplaceRoutes.PUBLISH))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + apiKey).header("Content-Type", "application/zip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bundle));
        for (SigningKeys signer : signers) {
            request.header(MarketplaceRoutes.SIGNATURE_HEADER, Signatures.sign(signer.privateKeyPem(), bundle) + "; key-id=" + signer.keyId());
        }
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** GET {@code path} as bytes. */
    HttpResponse<byte[]> download(String path, String apiKey) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(gateway.baseUrl() + path)).header("Authorization", "Bearer " + apiKey).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
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
        gateway.close();
        marketplace.close();
        commit.close();
        database.close();
    }
}
