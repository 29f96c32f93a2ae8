package io.somastack.policy.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Instants;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.policy.Admission;
import io.somastack.policy.DecisionQuery;
import io.somastack.policy.PolicyDefinition;
import io.somastack.policy.PolicyEngine;
import io.somastack.policy.SignedBundle;
import io.somastack.policy.TrustedKey;
import io.somastack.policy.Violation;
import io.somastack.policy.WireObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/** JSON shapes of the constitution API other than policies (see {@link PolicyWire}). */
public final class RouteWire {
    /** The earliest and latest instants PostgreSQL and {@link java.sql.Timestamp} take without overflow: years 0001 to 9999. */

    private RouteWire() {
    }

    public static Map<String, Object> key(TrustedKey key) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("key_id", key.keyId());
        map.put("name", key.name());
        map.put("role", key.role());
        map.put("public_key_pem", key.publicKeyPem());
        map.put("created_at", key.createdAt().toString());
        map.put("created_by", key.createdBy());
        map.put("revoked_at", key.revokedAt().map(Instant::toString).orElse(null));
        return map;
    }

    public static Map<String, Object> admission(Admission admission) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("decision_id", admission.decisionId().toString());
        map.put("capsule", admission.bundle().manifest().name());
        map.put("version", admission.bundle().manifest().version());
        map.put("digest", admission.bundle().digest());
        switch (admission) {
            case Admission.Admitted admitted -> {
                map.put("outcome", "admitted");
                map.put("evaluated", admitted.evaluated());
            }
            case Admission.Denied denied -> {
                map.put("outcome", "denied");
                map.put("violation", violation(denied.violation()));
                map.put("evaluated", denied.evaluated());
            }
        }
        return map;
    }

    public static Map<String, Object> trial(PolicyEngine.Trial trial) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("matched", trial.matched());
        map.put("allowed", trial.violation().isEmpty());
        map.put("violation", trial.violation().map(RouteWire::violation).orElse(null));
        return map;
    }

    private static Map<String, Object> violation(Violation violation) {
        return Map.of("policy", violation.policyName(), "policy_version", violation.policyVersion(), "expression", violation.expression(),
                "message", violation.message());
    }

    /**
     * {@code {bundle: base64, signatures: [{signature, key_id?}]}}, read strictly
     * ({@link WireObject}): admissions and the JSON form of publish.
     */
    public static SignedBundle signedBundle(JsonNode body) {
        WireObject object = WireObject.of(body, "", Set.of("bundle", "signatures"));
        byte[] packed;
        try {
            packed = Base64.getDecoder().decode(object.text("bundle"));
        } catch (IllegalArgumentException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'bundle' must be the packed bundle in base64", Map.of("field", "bundle"));
        }
        List<SignedBundle.BundleSignature> signatures = new ArrayList<>();
        for (WireObject signature : object.objects("signatures", Set.of("signature", "key_id"))) {
            signatures.add(new SignedBundle.BundleSignature(signature.text("signature"), signature.optionalText("key_id")));
        }
        return new SignedBundle(packed, signatures);
    }

    /** The body of {@code POST /v1/policies/evaluate}: {@code {policy, input}}. */
    public record TrialRequest(PolicyDefinition policy, Map<String, Object> input) {
    }

    @SuppressWarnings("unchecked")
    public static TrialRequest trialRequest(JsonNode body) {
        WireObject object = WireObject.of(body, "", Set.of("policy", "input"));
        PolicyDefinition policy = PolicyWire.definition(object.anyObject("policy"), "policy");
        return new TrialRequest(policy, Json.mapper().convertValue(object.anyObject("input"), Map.class));
    }

    /** The body of {@code POST /v1/policy/trusted-keys}: {@code {name, role?, public_key_pem}}. */
    public record KeyToTrust(String name, String role, String publicKeyPem) {
    }

    public static KeyToTrust keyToTrust(JsonNode body) {
        WireObject object = WireObject.of(body, "", Set.of("name", "role", "public_key_pem"));
        return new KeyToTrust(object.text("name"), object.optionalText("role").orElse("publisher"), object.text("public_key_pem"));
    }

    public static DecisionQuery decisionQuery(String capsule, String outcome, String from, String to, String limit) {
        return new DecisionQuery(Optional.ofNullable(StorableText.check(capsule, "capsule")), Optional.ofNullable(StorableText.check(outcome, "outcome")),
                instant(from, "from"), instant(to, "to"), limit == null ? 100 : integer(limit, "limit"));
    }

    private static Optional<Instant> instant(String text, String what) {
        return Optional.ofNullable(text).map(value -> Instants.parse(what, value));
    }

    public static int integer(String text, String what) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' must be an integer".formatted(what), Map.of("field", what));
        }
    }
}
