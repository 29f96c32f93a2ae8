package io.somastack.policy.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.policy.PolicyDefinition;
import io.somastack.policy.PolicyKind;
import io.somastack.policy.StoredPolicy;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jdbi.v3.core.statement.StatementContext;
import tools.jackson.databind.JsonNode;

/**
 * The JSON form of policies, on the wire and in the {@code definition} column:
 * {@code {name, kind, matchConditions: [{name, expression}], validations: [{expression, message}]}}.
 */
public final class PolicyWire {
    private PolicyWire() {
    }

    public static PolicyDefinition definition(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A policy is a JSON object");
        }
        for (String field : node.propertyNames()) {
            if (!List.of("name", "kind", "matchConditions", "validations").contains(field)) {
                throw new SomaException(ErrorCode.UNKNOWN_FIELD, "Unknown field '%s'".formatted(field));
            }
        }
        List<PolicyDefinition.MatchCondition> conditions = new ArrayList<>();
        for (JsonNode condition : array(node, "matchConditions")) {
            conditions.add(new PolicyDefinition.MatchCondition(text(condition, "name"), text(condition, "expression")));
        }
        List<PolicyDefinition.Validation> validations = new ArrayList<>();
        for (JsonNode validation : array(node, "validations")) {
            validations.add(new PolicyDefinition.Validation(text(validation, "expression"), text(validation, "message")));
        }
        return new PolicyDefinition(text(node, "name"), PolicyKind.parse(text(node, "kind")), conditions, validations);
    }

    public static Map<String, Object> definition(PolicyDefinition definition) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("name", definition.name());
        map.put("kind", definition.kind().wireName());
        map.put("matchConditions", definition.matchConditions().stream()
                .map(condition -> Map.of("name", condition.name(), "expression", condition.expression())).toList());
        map.put("validations", definition.validations().stream()
                .map(validation -> Map.of("expression", validation.expression(), "message", validation.message())).toList());
        return map;
    }

    public static Map<String, Object> policy(StoredPolicy policy) {
        Map<String, Object> map = definition(policy.definition());
        map.put("version", policy.version());
        map.put("created_at", policy.createdAt().toString());
        map.put("created_by", policy.createdBy());
        return map;
    }

    public static StoredPolicy row(ResultSet rs, StatementContext context) throws SQLException {
        return new StoredPolicy(new TenantId((UUID) rs.getObject("tenant_id")), definition(Json.tree(rs.getString("definition").getBytes(
                java.nio.charset.StandardCharsets.UTF_8))), rs.getInt("version"), rs.getTimestamp("created_at").toInstant(), rs.getString("created_by"));
    }

    private static List<JsonNode> array(JsonNode node, String field) {
        JsonNode value = node.get(field);
        List<JsonNode> items = new ArrayList<>();
        if (value == null || value.isNull()) {
            return items;
        }
        if (!value.isArray()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' must be an array".formatted(field));
        }
        value.forEach(items::add);
        return items;
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isString()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' is required and must be a string".formatted(field));
        }
        return value.asString();
    }
}
