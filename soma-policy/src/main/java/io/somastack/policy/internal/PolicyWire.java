package io.somastack.policy.internal;

import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import io.somastack.policy.PolicyDefinition;
import io.somastack.policy.PolicyKind;
import io.somastack.policy.StoredPolicy;
import io.somastack.policy.WireObject;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.statement.StatementContext;
import tools.jackson.databind.JsonNode;

/**
 * The JSON form of policies, on the wire and in the {@code definition} column:
 * {@code {name, kind, matchConditions: [{name, expression}], validations: [{expression, message}]}}.
 */
public final class PolicyWire {
    private static final Set<String> FIELDS = Set.of("name", "kind", "matchConditions", "validations");
    private static final Set<String> CONDITION_FIELDS = Set.of("name", "expression");
    private static final Set<String> VALIDATION_FIELDS = Set.of("expression", "message");

    private PolicyWire() {
    }

    public static PolicyDefinition definition(JsonNode node) {
        return definition(node, "");
    }

    /** Reads a policy strictly ({@link WireObject}); {@code path} names it in messages ({@code ""} for a request body). */
    public static PolicyDefinition definition(JsonNode node, String path) {
        WireObject policy = WireObject.of(node, path, FIELDS);
        List<PolicyDefinition.MatchCondition> conditions = new ArrayList<>();
        for (WireObject condition : policy.objects("matchConditions", CONDITION_FIELDS)) {
            conditions.add(new PolicyDefinition.MatchCondition(condition.text("name"), condition.text("expression")));
        }
        List<PolicyDefinition.Validation> validations = new ArrayList<>();
        for (WireObject validation : policy.objects("validations", VALIDATION_FIELDS)) {
            validations.add(new PolicyDefinition.Validation(validation.text("expression"), validation.text("message")));
        }
        return new PolicyDefinition(policy.text("name"), PolicyKind.parse(policy.text("kind")), conditions, validations);
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
}
