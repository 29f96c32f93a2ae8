package io.somastack.store;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * A signed checkpoint of the audit log, in the style of a transparency log's signed tree head
 * (C2SP {@code tlog-checkpoint}): this log ({@code origin}) had {@code size} entries and entry
 * {@code size} had hash {@code headHash} at {@code timestamp}. {@code signature} is the ES256
 * signature (base64url of {@code r‖s}, low {@code s}) of the UTF-8 bytes of {@link #note()}:
 *
 * <pre>
 * &lt;origin&gt;\n&lt;size&gt;\n&lt;head_hash&gt;\n&lt;timestamp&gt;\n
 * </pre>
 *
 * by the installation's checkpoint key {@code keyId} ({@code sha256:} and the hex SHA-256 of
 * its SubjectPublicKeyInfo), whose public half travels along as a JWK. Kept outside the
 * database, a checkpoint lets {@code somastack audit verify --checkpoint} prove that the log
 * still holds those {@code size} entries unchanged. Immutable.
 *
 * @param headHash the hex SHA-256 hash of entry {@code size} (64 zeros for an empty log)
 * @param timestamp when it was signed, RFC 3339 in UTC, exactly the text that was signed
 * @param publicKey the signing key as a JWK; empty in a checkpoint a client trimmed (only
 *     {@code keyId} is needed to verify)
 */
public record AuditCheckpoint(String origin, long size, String headHash, String timestamp, String keyId,
        Optional<Map<String, String>> publicKey, String signature) {
    /** The outbox event type of every checkpoint; its {@code data} is {@link #toMap()}. */
    public static final String EVENT_TYPE = "io.somastack.audit.checkpoint";

    private static final Pattern HASH = Pattern.compile("^[0-9a-f]{64}$");
    private static final Pattern ONE_LINE = Pattern.compile("^[^\\n\\r]{1,200}$");

    public AuditCheckpoint {
        requireNonNull(origin, "origin is null");
        requireNonNull(headHash, "headHash is null");
        requireNonNull(timestamp, "timestamp is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(publicKey, "publicKey is null");
        requireNonNull(signature, "signature is null");
        publicKey = publicKey.map(Map::copyOf);
    }

    /** The exact text the signature covers. */
    public String note() {
        return note(origin, size, headHash, timestamp);
    }

    static String note(String origin, long size, String headHash, String timestamp) {
        return origin + "\n" + size + "\n" + headHash + "\n" + timestamp + "\n";
    }

    /** {@link #timestamp} as an instant. */
    public Instant at() {
        return Instant.parse(timestamp);
    }

    /** The JSON document: the answer of the checkpoint routes and the outbox event's data. */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("origin", origin);
        map.put("size", size);
        map.put("head_hash", headHash);
        map.put("timestamp", timestamp);
        map.put("key_id", keyId);
        publicKey.ifPresent(jwk -> map.put("public_key", new LinkedHashMap<>(orderedJwk(jwk))));
        map.put("signature", signature);
        return map;
    }

    /**
     * Reads a checkpoint document, as {@link #toMap()} writes it, or the CloudEvent that carried
     * it ({@code data} is then the checkpoint). Refuses, naming the field, anything that is not
     * a well-formed checkpoint; the signature is not checked here.
     */
    public static AuditCheckpoint parse(byte[] json) {
        JsonNode node = Json.tree(json);
        if (node.isObject() && node.has("specversion") && node.has("data")) {
            JsonNode type = node.get("type");
            if (type == null || !EVENT_TYPE.equals(type.asString(""))) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "The event is not an audit checkpoint (type must be %s)".formatted(EVENT_TYPE));
            }
            node = node.get("data");
        }
        if (!node.isObject()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A checkpoint is a JSON object");
        }
        Wire wire = Json.convert(node, Wire.class);
        String origin = required("origin", wire.origin());
        if (!ONE_LINE.matcher(origin).matches()) {
            throw invalid("origin", "must be one line of at most 200 characters");
        }
        if (wire.size() == null || wire.size() < 0) {
            throw invalid("size", "must be an integer of at least 0");
        }
        String headHash = required("head_hash", wire.headHash());
        if (!HASH.matcher(headHash).matches()) {
            throw invalid("head_hash", "must be 64 lowercase hex digits");
        }
        String timestamp = required("timestamp", wire.timestamp());
        try {
            Instant.parse(timestamp);
        } catch (DateTimeParseException e) {
            throw invalid("timestamp", "must be an RFC 3339 timestamp in UTC, as the checkpoint was signed");
        }
        if (wire.publicKey() != null) {
            wire.publicKey().forEach((name, value) -> {
                if (value == null) {
                    throw invalid("public_key." + name, "must be a string");
                }
            });
        }
        return new AuditCheckpoint(origin, wire.size(), headHash, timestamp, required("key_id", wire.keyId()),
                Optional.ofNullable(wire.publicKey()), required("signature", wire.signature()));
    }

    private static String required(String field, String value) {
        if (value == null || value.isEmpty()) {
            throw invalid(field, "is required");
        }
        return value;
    }

    private static SomaException invalid(String field, String problem) {
        return new SomaException(ErrorCode.INVALID_REQUEST, "Checkpoint field '%s' %s".formatted(field, problem), Map.of("field", field));
    }

    private static Map<String, String> orderedJwk(Map<String, String> jwk) {
        Map<String, String> ordered = new LinkedHashMap<>();
        for (String name : new String[] {"kty", "crv", "x", "y", "kid", "alg", "use"}) {
            if (jwk.containsKey(name)) {
                ordered.put(name, jwk.get(name));
            }
        }
        jwk.forEach(ordered::putIfAbsent);
        return ordered;
    }

    @Override
    public String toString() {
        return "AuditCheckpoint[%s, size %d, head %s, %s]".formatted(origin, size, headHash, timestamp);
    }

    /** The document as read, before the checks. */
    record Wire(String origin, Long size, @JsonProperty("head_hash") String headHash, String timestamp,
            @JsonProperty("key_id") String keyId, @JsonProperty("public_key") Map<String, String> publicKey, String signature) {
    }
}
