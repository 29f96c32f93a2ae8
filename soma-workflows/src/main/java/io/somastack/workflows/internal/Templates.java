package io.somastack.workflows.internal;

import io.somastack.kernel.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * A node's input template: text with {@code {{input}}}, {@code {{input.<field>}}},
 * {@code {{<node>.output}}} and {@code {{item}}} (a fan-out node's item). A string value is
 * inserted as is, any other JSON value as its JSON text.
 */
public final class Templates {
    private static final Pattern VARIABLE = Pattern.compile("\\{\\{\\s*([^{}\\s]*)\\s*}}");

    private Templates() {
    }

    /** The variables of {@code template}, in order. */
    public static List<String> variables(String template) {
        List<String> names = new ArrayList<>();
        Matcher matcher = VARIABLE.matcher(template);
        while (matcher.find()) {
            names.add(matcher.group(1));
        }
        return names;
    }

    /** The node a variable or {@code for_each} reads ({@code <node>.output}), if it names one. */
    public static Optional<String> upstream(String variable) {
        if (variable.endsWith(".output") && !variable.startsWith("input.")) {
            return Optional.of(variable.substring(0, variable.length() - ".output".length()));
        }
        return Optional.empty();
    }

    /** The value of {@code variable} for the job input, the upstream outputs and the item; empty when unbound. */
    public static Optional<String> value(String variable, JsonNode input, Map<String, String> outputs, Optional<JsonNode> item) {
        if (variable.equals("input")) {
            return Optional.of(text(input));
        }
        if (variable.equals("item")) {
            return item.map(Templates::text);
        }
        if (variable.startsWith("input.")) {
            JsonNode field = input.isObject() ? input.get(variable.substring(6)) : null;
            return Optional.ofNullable(field).map(Templates::text);
        }
        return upstream(variable).map(outputs::get);
    }

    /** {@code template} with each variable replaced; an unbound one is an {@link IllegalArgumentException}. */
    public static String render(String template, JsonNode input, Map<String, String> outputs, Optional<JsonNode> item) {
        Matcher matcher = VARIABLE.matcher(template);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String variable = matcher.group(1);
            String value = value(variable, input, outputs, item)
                    .orElseThrow(() -> new IllegalArgumentException("template variable {{%s}} is unbound".formatted(variable)));
            matcher.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        matcher.appendTail(out);
        return out.toString();
    }

    /**
     * The items of a fan-out: {@code input.<field>} is a JSON array of the input; {@code <node>.output}
     * is that answer as a JSON array if it is one, else its non-blank lines.
     */
    public static List<JsonNode> items(String forEach, JsonNode input, Map<String, String> outputs) {
        Optional<String> node = upstream(forEach);
        if (node.isPresent()) {
            String output = outputs.get(node.get());
            if (output == null) {
                throw new IllegalArgumentException("for_each %s: node %s has no output".formatted(forEach, node.get()));
            }
            try {
                JsonNode parsed = Json.mapper().readTree(output);
                if (parsed.isArray()) {
                    List<JsonNode> items = new ArrayList<>();
                    parsed.forEach(items::add);
                    return items;
                }
            } catch (RuntimeException notJson) {
                // An answer in prose: one item per line.
            }
            return output.lines().filter(line -> !line.isBlank()).map(line -> (JsonNode) Json.mapper().getNodeFactory().stringNode(line.strip()))
                    .toList();
        }
        JsonNode field = forEach.startsWith("input.") && input.isObject() ? input.get(forEach.substring(6)) : null;
        if (field == null || !field.isArray()) {
            throw new IllegalArgumentException("for_each %s is not a list of the job input".formatted(forEach));
        }
        List<JsonNode> items = new ArrayList<>();
        field.forEach(items::add);
        return items;
    }

    private static String text(JsonNode value) {
        return value.isString() ? value.asString() : Json.text(value);
    }
}
