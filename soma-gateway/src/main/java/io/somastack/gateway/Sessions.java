package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.sql.Timestamp;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Short-lived ES256 session tokens made from an API key, and the JWKS that verifies them.
 * Signing keys live in PostgreSQL so every node signs and verifies with the same set.
 * {@link #rotate()} makes a new key the signer; the old one stays in the JWKS (and keeps
 * verifying) for one token lifetime, then drops out. Only ES256 is accepted: {@code alg=none},
 * HMAC and foreign keys are refused before any claim is read. Thread-safe.
 */
public final class Sessions {
    public static final String ISSUER = "somastack";
    /** How far a node's clock may run behind the issuing node's. */
    private static final long CLOCK_SKEW_SECONDS = 30;

    private final Jdbi jdbi;
    private final Clock clock;
    private final String audience;
    private final Duration lifetime;
    private volatile List<SigningKey> keys = List.of();

    public Sessions(Jdbi jdbi, Clock clock, String audience, Duration lifetime) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.audience = requireNonNull(audience, "audience is null");
        this.lifetime = requireNonNull(lifetime, "lifetime is null");
    }

    /** Loads the signing keys, creating the first one on a new installation. */
    public Sessions start() {
        reload();
        if (activeKey().isEmpty()) {
            rotate();
        }
        return this;
    }

    public Duration lifetime() {
        return lifetime;
    }

    /** Makes a new signing key active; the previous one verifies until its tokens expire. */
    public synchronized String rotate() {
        try {
            ECKey key = new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.ES256)
                    .keyID(UUID.randomUUID().toString()).generate();
            Instant now = clock.now();
            jdbi.useTransaction(handle -> {
                handle.createUpdate("UPDATE signing_keys SET retired_at = :now WHERE retired_at IS NULL")
                        .bind("now", Timestamp.from(now)).execute();
                // Plain JDBC: JDBI's flight-recorder events record statement arguments, and this one is a private key.
                try (var insert = handle.getConnection().prepareStatement(
                        "INSERT INTO signing_keys (kid, private_jwk, created_at) VALUES (?, ?, ?)")) {
                    insert.setString(1, key.getKeyID());
                    insert.setString(2, key.toJSONString());
                    insert.setTimestamp(3, Timestamp.from(now));
                    insert.executeUpdate();
                }
            });
            reload();
            return key.getKeyID();
        } catch (JOSEException e) {
            throw new IllegalStateException("Cannot generate a P-256 key", e);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("Cannot store the new signing key: " + e.getMessage(), e);
        }
    }

    /** Issues a token for {@code principal}, valid for the configured lifetime. */
    public Issued issue(Principal principal, String region) {
        SigningKey signer = activeKey().orElseGet(() -> {
            reload();
            return activeKey().orElseThrow();
        });
        Instant now = clock.now();
        Instant expires = now.plus(lifetime);
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(ISSUER).audience(audience).subject(principal.keyId().toString())
                .claim("tid", principal.tenant().id().toString()).claim("scope", String.join(" ", principal.scopes().stream().sorted().toList()))
                .claim("region", region).issueTime(Date.from(now)).expirationTime(Date.from(expires)).jwtID(UUID.randomUUID().toString())
                .build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(signer.key().getKeyID()).type(com.nimbusds.jose.JOSEObjectType.JWT).build(), claims);
        try {
            jwt.sign(new ECDSASigner(signer.key()));
        } catch (JOSEException e) {
            throw new IllegalStateException("Cannot sign a session token", e);
        }
        // ECDSA signatures come in two valid spellings, (r, s) and (r, n - s). Verification
        // accepts only the low one, so sign in the low one.
        byte[] signature = jwt.getSignature().decode();
        String token = jwt.serialize();
        if (LowS.isHigh(signature)) {
            token = token.substring(0, token.lastIndexOf('.') + 1) + com.nimbusds.jose.util.Base64URL.encode(LowS.normalize(signature));
        }
        return new Issued(token, expires);
    }

    /**
     * Checks a token and returns the API key id it was made from. Each way a token can be
     * wrong has its own {@link ErrorCode}.
     */
    public UUID verify(String token) {
        Object parsed;
        try {
            parsed = JWTParser.parse(token);
        } catch (ParseException e) {
            throw new SomaException(ErrorCode.INVALID_TOKEN, "The bearer token is not a well-formed JWT: " + e.getMessage());
        }
        if (!(parsed instanceof SignedJWT jwt)) {
            throw new SomaException(ErrorCode.TOKEN_ALGORITHM_REFUSED, "Unsigned tokens (alg=none) are refused; use ES256");
        }
        if (!JWSAlgorithm.ES256.equals(jwt.getHeader().getAlgorithm())) {
            throw new SomaException(ErrorCode.TOKEN_ALGORITHM_REFUSED,
                    "Token algorithm %s is refused; only ES256 is accepted".formatted(jwt.getHeader().getAlgorithm()));
        }
        String kid = jwt.getHeader().getKeyID();
        SigningKey key = find(kid).or(() -> {
            reload();
            return find(kid);
        }).orElseThrow(() -> new SomaException(ErrorCode.TOKEN_SIGNATURE_INVALID,
                "The token was not signed by a key of this installation (kid %s)".formatted(kid)));
        if (LowS.isHigh(jwt.getSignature().decode())) {
            throw new SomaException(ErrorCode.TOKEN_SIGNATURE_INVALID, "The token signature is not in canonical (low-S) form");
        }
        try {
            if (!jwt.verify(new ECDSAVerifier(key.key().toECPublicKey()))) {
                throw new SomaException(ErrorCode.TOKEN_SIGNATURE_INVALID, "The token signature does not verify");
            }
            JWTClaimsSet claims = jwt.getJWTClaimsSet();
            Instant now = clock.now();
            if (claims.getExpirationTime() == null || !claims.getExpirationTime().toInstant().isAfter(now)) {
                throw new SomaException(ErrorCode.TOKEN_EXPIRED, "The session token expired at %s; create a new session"
                        .formatted(claims.getExpirationTime() == null ? "an unknown time" : claims.getExpirationTime().toInstant()));
            }
            if (claims.getNotBeforeTime() != null && claims.getNotBeforeTime().toInstant().isAfter(now)) {
                throw new SomaException(ErrorCode.INVALID_TOKEN, "The token is not valid before %s".formatted(claims.getNotBeforeTime().toInstant()));
            }
            if (claims.getIssueTime() == null || claims.getIssueTime().toInstant().isAfter(now.plusSeconds(CLOCK_SKEW_SECONDS))) {
                throw new SomaException(ErrorCode.INVALID_TOKEN, "The token has no issue time, or one in the future");
            }
            if (Duration.between(claims.getIssueTime().toInstant(), claims.getExpirationTime().toInstant()).compareTo(lifetime) > 0) {
                throw new SomaException(ErrorCode.INVALID_TOKEN, "The token lives longer than the session lifetime of %s".formatted(lifetime));
            }
            if (claims.getAudience() == null || !claims.getAudience().contains(audience)) {
                throw new SomaException(ErrorCode.TOKEN_AUDIENCE_MISMATCH,
                        "The token is for audience %s, not '%s'".formatted(claims.getAudience(), audience));
            }
            if (!ISSUER.equals(claims.getIssuer()) || claims.getSubject() == null) {
                throw new SomaException(ErrorCode.INVALID_TOKEN, "The token was not issued by SomaStack");
            }
            return UUID.fromString(claims.getSubject());
        } catch (JOSEException | ParseException | IllegalArgumentException e) {
            throw new SomaException(ErrorCode.INVALID_TOKEN, "The token cannot be verified: " + e.getMessage());
        }
    }

    /** A detached signature: the id of the key in {@link #jwks()} and the signature, ASN.1 DER. */
    public record Detached(String keyId, byte[] signature) {
    }

    /**
     * Signs {@code data} with the active key: ES256 (ECDSA on P-256 over SHA-256), the
     * signature in ASN.1 DER as openssl, DSSE and in-toto verifiers read it. Verifiable offline
     * with the key {@code keyId} of {@link #jwks()} while that key is published (one token
     * lifetime after a rotation). For documents the server vouches for (an answer's provenance).
     */
    public Detached sign(byte[] data) {
        SigningKey signer = activeKey().orElseGet(() -> {
            reload();
            return activeKey().orElseThrow();
        });
        try {
            java.security.Signature signature = java.security.Signature.getInstance("SHA256withECDSA");
            signature.initSign(signer.key().toECPrivateKey());
            signature.update(data);
            return new Detached(signer.key().getKeyID(), signature.sign());
        } catch (JOSEException | java.security.GeneralSecurityException e) {
            throw new IllegalStateException("Cannot sign with key " + signer.key().getKeyID(), e);
        }
    }

    /** Every session signing key ever made, newest first: kid, algorithm and dates, never the private half. */
    public List<SigningKeyInfo> keyInfos() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT kid, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid")
                .map((rs, ctx) -> new SigningKeyInfo(rs.getString("kid"), JWSAlgorithm.ES256.getName(), rs.getTimestamp("created_at").toInstant(),
                        Optional.ofNullable(rs.getTimestamp("retired_at")).map(Timestamp::toInstant)))
                .list());
    }

    /** The public keys, as served at {@code /.well-known/jwks.json}. */
    public Map<String, Object> jwks() {
        return new JWKSet(keys.stream().map(key -> (com.nimbusds.jose.jwk.JWK) key.key().toPublicJWK()).toList()).toJSONObject(true);
    }

    private Optional<SigningKey> activeKey() {
        return keys.stream().filter(key -> key.retiredAt().isEmpty()).findFirst();
    }

    private Optional<SigningKey> find(String kid) {
        return keys.stream().filter(key -> key.key().getKeyID().equals(kid)).findFirst();
    }

    /** Keys that still verify: the active one and those retired less than a lifetime ago. */
    private synchronized void reload() {
        Instant horizon = clock.now().minus(lifetime);
        List<SigningKey> loaded = new ArrayList<>();
        jdbi.useHandle(handle -> handle.createQuery("SELECT * FROM signing_keys WHERE retired_at IS NULL OR retired_at > :horizon ORDER BY created_at DESC")
                .bind("horizon", Timestamp.from(horizon))
                .map((rs, ctx) -> {
                    try {
                        return new SigningKey(ECKey.parse(rs.getString("private_jwk")),
                                Optional.ofNullable(rs.getTimestamp("retired_at")).map(Timestamp::toInstant));
                    } catch (ParseException e) {
                        throw new IllegalStateException("Stored signing key %s is corrupt".formatted(rs.getString("kid")), e);
                    }
                }).forEach(loaded::add));
        keys = List.copyOf(loaded);
    }

    /** A token and when it expires. */
    public record Issued(String token, Instant expiresAt) {
    }

    private record SigningKey(ECKey key, Optional<Instant> retiredAt) {
    }
}
