package io.somastack.policy.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.policy.Admission;
import io.somastack.policy.DecisionQuery;
import io.somastack.policy.PolicyEngine;
import io.somastack.policy.SignedBundle;
import io.somastack.policy.TrustedKey;
import io.somastack.policy.Violation;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/** JSON shapes of the constitution API other than policies (see {@link PolicyWire}). */
public final class RouteWire {
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

    public static SignedBundle signedBundle(JsonNode body) {
        byte[] packed;
        try {
            packed = Base64.getDecoder().decode(text(body, "bundle"));
        } catch (IllegalArgumentException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'bundle' must be the packed bundle in base64");
        }
        List<SignedBundle.BundleSignature> signatures = new ArrayList<>();
        for (JsonNode signature : body.path("signatures")) {
            signatures.add(new SignedBundle.BundleSignature(text(signature, "signature"),
                    signature.has("key_id") ? Optional.of(text(signature, "key_id")) : Optional.empty()));
        }
        return new SignedBundle(packed, signatures);
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> input(JsonNode input) {
        if (input == null || !input.isObject()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'input' must be an object of CEL variables");
        }
        return Json.mapper().convertValue(input, Map.class);
    }

    public static DecisionQuery decisionQuery(String capsule, String outcome, String from, String to, String limit) {
        return new DecisionQuery(Optional.ofNullable(capsule), Optional.ofNullable(outcome), instant(from, "from"), instant(to, "to"),
                limit == null ? 100 : integer(limit, "limit"));
    }

    private static Optional<Instant> instant(String text, String what) {
        if (text == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Instant.parse(text));
        } catch (DateTimeParseException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' must be an RFC 3339 time such as 2025-05-01T00:00:00Z".formatted(what));
        }
    }

    public static int integer(String text, String what) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' must be an integer".formatted(what));
        }
    }

    public static String text(JsonNode node, String field) {
        JsonNode value = node == null ? null : node.get(field);
        if (value == null || !value.isString()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' is required and must be a string".formatted(field));
        }
        return value.asString();
    }
}
