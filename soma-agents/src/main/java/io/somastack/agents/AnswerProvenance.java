package io.somastack.agents;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import io.somastack.kernel.Json;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * The signed provenance of an answer: a DSSE envelope ({@code payloadType}
 * {@value #PAYLOAD_TYPE}, {@code payload} = base64 of an in-toto Statement v1, {@code signatures}
 * [{@code keyid}, {@code sig}]) signed with the server's ES256 key over DSSE's pre-authentication
 * encoding, the signature in ASN.1 DER. It verifies offline against the server's published JWKS
 * ({@code /v1/provenance/jwks.json}, which keeps every key ever used) with any ECDSA P-256 implementation (see the module README).
 * Stateless and thread-safe.
 */
public final class AnswerProvenance {
    public static final String PAYLOAD_TYPE = "application/vnd.in-toto+json";
    /** The predicate of a run's answer; its subject is the answer's digest. */
    public static final String RUN_PREDICATE_TYPE = "https://somastack.io/provenance/agent-run/v1";

    private AnswerProvenance() {
    }

    /** DSSE's pre-authentication encoding: {@code "DSSEv1" SP len(type) SP type SP len(body) SP body}, lengths in ASCII decimal bytes. */
    public static byte[] pae(String payloadType, byte[] payload) {
        byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
        byte[] head = "DSSEv1 %d %s %d ".formatted(type.length, payloadType, payload.length).getBytes(StandardCharsets.UTF_8);
        byte[] pae = new byte[head.length + payload.length];
        System.arraycopy(head, 0, pae, 0, head.length);
        System.arraycopy(payload, 0, pae, head.length, payload.length);
        return pae;
    }

    /** The envelope of {@code payload}, signed by key {@code keyId} with {@code derSignature} over its {@link #pae}. */
    public static String envelope(byte[] payload, String keyId, byte[] derSignature) {
        Map<String, Object> envelope = new LinkedHashMap<>();
        envelope.put("payloadType", PAYLOAD_TYPE);
        envelope.put("payload", Base64.getEncoder().encodeToString(payload));
        envelope.put("signatures", List.of(Map.of("keyid", keyId, "sig", Base64.getEncoder().encodeToString(derSignature))));
        return Json.text(envelope);
    }

    /** The outcome of {@link #verify}: valid, or every problem found; the statement when the payload could be read. */
    public record Verification(boolean valid, List<String> problems, Optional<JsonNode> statement) {
        public Verification {
            problems = List.copyOf(problems);
        }
    }

    /**
     * Checks an envelope against a JWKS document: format, signature, statement type, and, for a
     * run's answer, that the subject is the answer's digest (a team job's statement, signed with the
     * same keys, has its own predicate).
     */
    public static Verification verify(byte[] envelopeJson, String jwksJson) {
        List<String> problems = new ArrayList<>();
        JsonNode envelope;
        try {
            envelope = Json.mapper().readTree(envelopeJson);
        } catch (RuntimeException e) {
            return new Verification(false, List.of("the envelope is not JSON: " + e.getMessage()), Optional.empty());
        }
        if (!PAYLOAD_TYPE.equals(envelope.path("payloadType").asString(null))) {
            problems.add("payloadType is %s, not %s".formatted(envelope.path("payloadType"), PAYLOAD_TYPE));
        }
        byte[] payload;
        try {
            payload = Base64.getDecoder().decode(envelope.path("payload").asString(""));
        } catch (IllegalArgumentException e) {
            problems.add("payload is not base64: " + e.getMessage());
            return new Verification(false, problems, Optional.empty());
        }
        JWKSet keys;
        try {
            keys = JWKSet.parse(jwksJson);
        } catch (java.text.ParseException e) {
            problems.add("the JWKS cannot be read: " + e.getMessage());
            return new Verification(false, problems, Optional.empty());
        }
        JsonNode signatures = envelope.path("signatures");
        if (!signatures.isArray() || signatures.isEmpty()) {
            problems.add("the envelope has no signatures");
        }
        boolean verified = false;
        for (JsonNode entry : signatures) {
            String keyId = entry.path("keyid").asString("");
            JWK key = keys.getKeyByKeyId(keyId);
            if (!(key instanceof ECKey ecKey)) {
                problems.add("signature key %s is not an EC key of the JWKS".formatted(keyId));
                continue;
            }
            try {
                Signature signature = Signature.getInstance("SHA256withECDSA");
                signature.initVerify(ecKey.toECPublicKey());
                signature.update(pae(envelope.path("payloadType").asString(""), payload));
                if (signature.verify(Base64.getDecoder().decode(entry.path("sig").asString("")))) {
                    verified = true;
                } else {
                    problems.add("the signature by key %s does not match the payload".formatted(keyId));
                }
            } catch (GeneralSecurityException | IllegalArgumentException | com.nimbusds.jose.JOSEException e) {
                problems.add("the signature by key %s does not verify: %s".formatted(keyId, e.getMessage()));
            }
        }
        JsonNode statement;
        try {
            statement = Json.mapper().readTree(payload);
        } catch (RuntimeException e) {
            problems.add("the payload is not a JSON statement: " + e.getMessage());
            return new Verification(false, problems, Optional.empty());
        }
        if (!"https://in-toto.io/Statement/v1".equals(statement.path("_type").asString(null))) {
            problems.add("the statement's _type is %s, not https://in-toto.io/Statement/v1".formatted(statement.path("_type")));
        }
        if (RUN_PREDICATE_TYPE.equals(statement.path("predicateType").asString(""))) {
            String answer = statement.path("predicate").path("answer_sha256").asString("");
            String subject = statement.path("subject").path(0).path("digest").path("sha256").asString("");
            if (answer.isEmpty() || !answer.equals(subject)) {
                problems.add("the subject's digest %s is not the predicate's answer_sha256 %s".formatted(subject, answer));
            }
        }
        if (!verified && problems.isEmpty()) {
            problems.add("no signature verifies");
        }
        return new Verification(verified && problems.isEmpty(), problems, Optional.of(statement));
    }

    /** The SHA-256 of {@code text} in UTF-8, hex. */
    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
