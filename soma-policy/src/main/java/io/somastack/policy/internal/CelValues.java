package io.somastack.policy.internal;

import dev.cel.common.values.NullValue;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns plain Java values (as Jackson reads JSON or YAML) into the values CEL expects:
 * integers become {@code long}, decimals {@code double}, null {@link NullValue}, maps with
 * string keys and lists recursively; {@link Optional} is unwrapped. Anything else becomes
 * its string form.
 */
public final class CelValues {
    private CelValues() {
    }

    public static Object of(Object value) {
        return switch (value) {
            case null -> NullValue.NULL_VALUE;
            case String text -> text;
            case Boolean bool -> bool;
            case Integer number -> number.longValue();
            case Long number -> number;
            case Short number -> number.longValue();
            case BigInteger number -> number.bitLength() < 64 ? number.longValue() : number.doubleValue();
            case BigDecimal number -> number.doubleValue();
            case Double number -> number;
            case Float number -> number.doubleValue();
            case Optional<?> optional -> of(optional.orElse(null));
            case Map<?, ?> map -> {
                Map<String, Object> result = new LinkedHashMap<>();
                map.forEach((key, item) -> result.put(String.valueOf(key), of(item)));
                yield result;
            }
            case Collection<?> collection -> {
                List<Object> result = new ArrayList<>(collection.size());
                collection.forEach(item -> result.add(of(item)));
                yield result;
            }
            default -> value.toString();
        };
    }

    /** {@code input} by variable, each converted, with missing variables as empty maps. */
    public static Map<String, Object> input(List<String> variables, Map<String, ?> input) {
        Map<String, Object> result = new LinkedHashMap<>();
        for (String variable : variables) {
            Object value = input.get(variable);
            result.put(variable, value == null ? Map.of() : of(value));
        }
        return result;
    }
}
