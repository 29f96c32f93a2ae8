package io.somastack.server;

import io.somastack.kernel.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The bad requests sent to one operation, made from its description in the OpenAPI document
 * and a valid request (path values, credential, body). Each changes one thing. Whether the
 * server must refuse it is read from the document: a JSON body the request schema rejects
 * (checked with the validator), a malformed or oversized body, a bad escape, a value a query
 * parameter's schema rejects. Anything else it may accept or refuse, but never with a 5xx.
 * Two leniencies are allowed: {@code null} for an optional field means the field is absent (as
 * in OpenAI's API), and a bad percent-escape in the query may be dropped (the path's may not).
 */
final class BadInputs {
    /** Over the default max.body.bytes (4 MiB). */
    static final int OVERSIZED = 4 * 1024 * 1024 + 4096;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final int MAX_DEPTH = 4;

    /** What the server must do with an input. */
    enum Expect {
        /** A 4xx problem; {@code status} when it names one. */
        REFUSE,
        /** Anything but a 5xx; a refusal is a documented problem. */
        TOLERATE
    }

    /** One bad request. {@code target} goes on the request line as is. */
    record Input(String label, Expect expect, Integer status, String why, String method, String target, List<String> headers, byte[] body,
            RawHttp.Framing framing) {
    }

    private final OpenApiDocument document;
    private final OpenApiDocument.Operation operation;
    private final String path;
    private final String token;
    private final Optional<JsonNode> body;
    private final List<Input> inputs = new ArrayList<>();

    private BadInputs(OpenApiDocument document, OpenApiDocument.Operation operation, String path, String token, Optional<JsonNode> body) {
        this.document = document;
        this.operation = operation;
        this.path = path;
        this.token = token;
        this.body = body;
    }

    /** The valid request itself: {@code path}, {@code token} and {@code body}. */
    static Input valid(OpenApiDocument document, OpenApiDocument.Operation operation, String path, String token, Optional<JsonNode> body) {
        BadInputs valid = new BadInputs(document, operation, path, token, body);
        return new Input("the valid request", Expect.TOLERATE, null, null, operation.method(), path, valid.headers(), valid.validBody(),
                RawHttp.Framing.CONTENT_LENGTH);
    }

    /** Every bad input for {@code operation}, whose valid request is {@code path}, {@code token} and {@code body}. */
    static List<Input> of(OpenApiDocument document, OpenApiDocument.Operation operation, String path, String token, Optional<JsonNode> body) {
        BadInputs bad = new BadInputs(document, operation, path, token, body);
        bad.requestLine();
        bad.pathParameters();
        bad.queryParameters();
        body.ifPresent(valid -> {
            bad.bodies(valid);
            bad.fields(valid, List.of(), document.resolve(operation.jsonBody().orElseThrow().get("schema")), 0);
        });
        return bad.inputs;
    }

    private void requestLine() {
        String separator = path.contains("?") ? "&" : "?";
        add("request line of 70,000 bytes", Expect.REFUSE, 414, path + separator + "pad=" + "a".repeat(70_000), headers(), validBody());
        List<String> headers = headers();
        headers.add("X-Walker-Pad: " + "a".repeat(70_000));
        add("a header of 70,000 bytes", Expect.REFUSE, 431, path, headers, validBody());
    }

    private void pathParameters() {
        for (JsonNode parameter : operation.parameters(document)) {
            if (!parameter.get("in").asString().equals("path")) {
                continue;
            }
            String name = parameter.get("name").asString();
            String template = operation.path();
            for (var escape : Map.of("%zz", "a bad percent-escape", "%", "a lone %", "%E0%A4", "a truncated UTF-8 escape",
                    "%ED%A0%80", "an escaped lone surrogate", "%C0%AF", "an overlong UTF-8 escape", "%00", "an escaped NUL").entrySet()) {
                String target = template;
                for (JsonNode other : operation.parameters(document)) {
                    if (other.get("in").asString().equals("path")) {
                        String otherName = other.get("name").asString();
                        String value = otherName.equals(name) ? "x" + escape.getKey() : segment(otherName);
                        target = target.replace("{" + otherName + "}", value);
                    }
                }
                add("path {%s} with %s (%s)".formatted(name, escape.getValue(), escape.getKey()), Expect.REFUSE, null, target, headers(), validBody());
            }
        }
    }

    private void queryParameters() {
        List<JsonNode> query = operation.parameters(document).stream().filter(parameter -> parameter.get("in").asString().equals("query")).toList();
        String separator = path.contains("?") ? "&" : "?";
        if (query.isEmpty()) {
            add("an unknown query parameter with a bad percent-escape (?walker=%zz)", Expect.TOLERATE, null, path + separator + "walker=%zz", headers(),
                    validBody());
            return;
        }
        for (JsonNode parameter : query) {
            String name = parameter.get("name").asString();
            JsonNode schema = document.resolve(parameter.get("schema"));
            add("query %s=%%zz (a bad percent-escape)".formatted(name), Expect.TOLERATE, null, path + separator + name + "=%zz", headers(), validBody());
            Map<String, String> values = new LinkedHashMap<>();
            values.put("%00", "a NUL");
            values.put("%ED%A0%80", "an escaped lone surrogate");
            values.put("walker-not-a-value", "a word");
            values.put("1.5", "a fraction");
            values.put("99999999999999999999", "a huge number");
            values.put("-1", "a negative number");
            values.put("-999999999-01-01T00:00:00Z", "the earliest instant Java knows");
            values.put("%2B999999999-12-31T23:59:59Z", "the latest instant Java knows");
            values.put("0000-01-01T00:00:00Z", "year 0");
            values.put("9999-12-31T23:59:59.999999999Z", "the last instant of year 9999");
            values.put("2026-02-30T25:61:00Z", "an impossible date");
            for (var value : values.entrySet()) {
                JsonNode decoded = queryValue(schema, java.net.URLDecoder.decode(value.getKey().replace("%00", "\u0000").replace("%ED%A0%80", "\ud800"),
                        StandardCharsets.UTF_8));
                List<String> errors = document.validateSchema(schema, decoded);
                add("query %s=%s (%s)".formatted(name, value.getKey(), value.getValue()), errors.isEmpty() ? Expect.TOLERATE : Expect.REFUSE, null,
                        errors.isEmpty() ? null : errors.getFirst(), path + separator + name + "=" + value.getKey(), headers(), validBody());
            }
        }
    }

    /** The whole body wrong: not JSON, not an object, empty, too large, of another media type. */
    private void bodies(JsonNode valid) {
        byte[] json = Json.bytes(valid);
        raw("a body cut short", Expect.REFUSE, 400, "{\"a\":".getBytes(StandardCharsets.UTF_8));
        raw("a body in single quotes", Expect.REFUSE, 400, "{'a': 1}".getBytes(StandardCharsets.UTF_8));
        raw("a valid body followed by garbage", Expect.REFUSE, 400, concat(json, " }x".getBytes(StandardCharsets.UTF_8)));
        raw("a body of invalid UTF-8", Expect.REFUSE, 400, new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'});
        raw("a body nested 100,000 arrays deep", Expect.REFUSE, 400, ("[".repeat(100_000) + "]".repeat(100_000)).getBytes(StandardCharsets.UTF_8));
        raw("the JSON literal null", Expect.REFUSE, 400, "null".getBytes(StandardCharsets.UTF_8));
        raw("an array instead of an object", Expect.REFUSE, 400, "[]".getBytes(StandardCharsets.UTF_8));
        raw("a string instead of an object", Expect.REFUSE, 400, "\"walker\"".getBytes(StandardCharsets.UTF_8));
        raw("a number instead of an object", Expect.REFUSE, 400, "7".getBytes(StandardCharsets.UTF_8));
        raw("an empty body", operation.bodyRequired() ? Expect.REFUSE : Expect.TOLERATE, null, new byte[0]);
        List<String> textPlain = headers().stream().map(header -> header.startsWith("Content-Type:") ? "Content-Type: text/plain" : header)
                .collect(java.util.stream.Collectors.toCollection(ArrayList::new));
        inputs.add(new Input("a JSON body sent as text/plain", Expect.REFUSE, 415, null, operation.method(), path, textPlain, json,
                RawHttp.Framing.CONTENT_LENGTH));
        byte[] oversized = concat(" ".repeat(OVERSIZED).getBytes(StandardCharsets.UTF_8), json);
        inputs.add(new Input("a valid body padded past 4 MiB, with Content-Length", Expect.REFUSE, 413, null, operation.method(), path, headers(),
                oversized, RawHttp.Framing.CONTENT_LENGTH));
        inputs.add(new Input("a valid body padded past 4 MiB, chunked", Expect.REFUSE, 413, null, operation.method(), path, headers(), oversized,
                RawHttp.Framing.CHUNKED));
    }

    /**
     * Each field of the valid body (and each documented one it lacks) replaced by values of every
     * other type, null, NUL, lone surrogates, extreme numbers and dates, a word outside its
     * enum, or left out; each object given an unknown field.
     */
    private void fields(JsonNode valid, List<Object> at, JsonNode schema, int depth) {
        JsonNode value = at.isEmpty() ? valid : get(valid, at);
        JsonNode objectSchema = objectSchema(schema, value);
        if (value.isObject()) {
            mutate(valid, at, "walker_unknown", NODES.numberNode(1), "an unknown field");
            for (String field : value.propertyNames()) {
                List<Object> child = append(at, field);
                replace(valid, child);
                remove(valid, child);
                if (depth < MAX_DEPTH) {
                    fields(valid, child, property(objectSchema, field), depth + 1);
                }
            }
            if (objectSchema != null) {
                for (String field : objectSchema.path("properties").propertyNames()) {
                    if (!value.has(field)) {
                        replace(valid, append(at, field));
                    }
                }
            }
        } else if (value.isArray() && !value.isEmpty() && depth < MAX_DEPTH) {
            List<Object> first = append(at, 0);
            replace(valid, first);
            JsonNode items = schema == null ? null : document.resolve(branch(schema, value)).get("items");
            fields(valid, first, items, depth + 1);
        }
    }

    /** The value at {@code at} replaced by each bad value. */
    private void replace(JsonNode valid, List<Object> at) {
        for (var bad : badValues().entrySet()) {
            set(valid, at, bad.getValue(), bad.getKey());
        }
    }

    private static Map<String, JsonNode> badValues() {
        Map<String, JsonNode> values = new LinkedHashMap<>();
        values.put("a string", NODES.stringNode("walker"));
        values.put("an integer", NODES.numberNode(7));
        values.put("a fraction", NODES.numberNode(new java.math.BigDecimal("1.5")));
        values.put("a boolean", NODES.booleanNode(true));
        values.put("an object", NODES.objectNode());
        values.put("an array", NODES.arrayNode());
        values.put("null", NODES.nullNode());
        values.put("a string with NUL", NODES.stringNode("wal\u0000ker"));
        values.put("a lone high surrogate", NODES.stringNode("\ud800"));
        values.put("a lone low surrogate", NODES.stringNode("x\udc00x"));
        values.put("a zero-width space", NODES.stringNode("\u200b"));
        values.put("1e400", number("1e400"));
        values.put("-1e400", number("-1e400"));
        values.put("1e-400", number("1e-400"));
        values.put("2^63", number("9223372036854775808"));
        values.put("-2^63-1", number("-9223372036854775809"));
        values.put("10^15", number("1000000000000000"));
        values.put("-1", NODES.numberNode(-1));
        values.put("0", NODES.numberNode(0));
        values.put("the earliest instant Java knows", NODES.stringNode("-999999999-01-01T00:00:00Z"));
        values.put("the latest instant Java knows", NODES.stringNode("+999999999-12-31T23:59:59.999999999Z"));
        values.put("year 0", NODES.stringNode("0000-01-01T00:00:00Z"));
        values.put("an impossible date", NODES.stringNode("2026-02-30T25:61:00Z"));
        values.put("a string of 100,000 characters", NODES.stringNode("w".repeat(100_000)));
        return values;
    }

    private void remove(JsonNode valid, List<Object> at) {
        JsonNode copy = valid.deepCopy();
        JsonNode parent = get(copy, at.subList(0, at.size() - 1));
        Object last = at.getLast();
        if (parent instanceof ObjectNode object) {
            object.remove((String) last);
        } else if (parent instanceof ArrayNode array) {
            array.remove((Integer) last);
        }
        jsonInput(label(at) + " left out", copy);
    }

    private void set(JsonNode valid, List<Object> at, JsonNode value, String description) {
        JsonNode copy = valid.deepCopy();
        JsonNode parent = get(copy, at.subList(0, at.size() - 1));
        Object last = at.getLast();
        if (parent instanceof ObjectNode object) {
            object.set((String) last, value);
            if (value.isNull()) {
                // null stands for an absent optional field (as in OpenAI's API): judged as if left out.
                JsonNode without = valid.deepCopy();
                ((ObjectNode) get(without, at.subList(0, at.size() - 1))).remove((String) last);
                List<String> errors = document.requestErrors(operation, without);
                inputs.add(new Input(label(at) + " = null", errors.isEmpty() ? Expect.TOLERATE : Expect.REFUSE, null,
                        errors.isEmpty() ? null : errors.getFirst(), operation.method(), path, headers(), Json.bytes(copy), RawHttp.Framing.CONTENT_LENGTH));
                return;
            }
        } else if (parent instanceof ArrayNode array) {
            array.set((Integer) last, value);
        }
        jsonInput(label(at) + " = " + description, copy);
    }

    private void mutate(JsonNode valid, List<Object> at, String field, JsonNode value, String description) {
        JsonNode copy = valid.deepCopy();
        ((ObjectNode) get(copy, at)).set(field, value);
        jsonInput((at.isEmpty() ? "body" : label(at)) + " with " + description, copy);
    }

    /** A JSON body that the request schema decides: refused if it does not validate. */
    private void jsonInput(String label, JsonNode body) {
        List<String> errors = document.requestErrors(operation, body);
        inputs.add(new Input(label, errors.isEmpty() ? Expect.TOLERATE : Expect.REFUSE, null, errors.isEmpty() ? null : errors.getFirst(),
                operation.method(), path, headers(), Json.bytes(body), RawHttp.Framing.CONTENT_LENGTH));
    }

    private void raw(String label, Expect expect, Integer status, byte[] body) {
        inputs.add(new Input(label, expect, status, null, operation.method(), path, headers(), body, RawHttp.Framing.CONTENT_LENGTH));
    }

    private void add(String label, Expect expect, Integer status, String target, List<String> headers, byte[] body) {
        add(label, expect, status, null, target, headers, body);
    }

    private void add(String label, Expect expect, Integer status, String why, String target, List<String> headers, byte[] body) {
        inputs.add(new Input(label, expect, status, why, operation.method(), target, headers, body, RawHttp.Framing.CONTENT_LENGTH));
    }

    private List<String> headers() {
        List<String> headers = new ArrayList<>();
        if (token != null) {
            headers.add("Authorization: Bearer " + token);
        }
        if (body.isPresent()) {
            headers.add("Content-Type: application/json");
        }
        return headers;
    }

    private byte[] validBody() {
        return body.map(Json::bytes).orElse(null);
    }

    /** The value of another path parameter in {@code path}, taken from the filled-in path. */
    private String segment(String name) {
        String[] templateParts = operation.path().split("/");
        String[] pathParts = path.split("\\?")[0].split("/");
        for (int i = 0; i < templateParts.length; i++) {
            if (templateParts[i].equals("{" + name + "}")) {
                return pathParts[i];
            }
        }
        throw new IllegalStateException("No parameter " + name + " in " + operation.path());
    }

    /** A query text as the JSON value its schema would see: a number or boolean when it reads as one. */
    private static JsonNode queryValue(JsonNode schema, String text) {
        String type = schema.path("type").asString("string");
        if (type.equals("integer") || type.equals("number")) {
            try {
                return NODES.numberNode(new java.math.BigDecimal(text));
            } catch (NumberFormatException e) {
                return NODES.stringNode(text);
            }
        }
        if (type.equals("boolean") && (text.equals("true") || text.equals("false"))) {
            return NODES.booleanNode(Boolean.parseBoolean(text));
        }
        return NODES.stringNode(text);
    }

    /** The object schema that describes {@code value}: the schema, or the branch of a oneOf/anyOf that fits. */
    private JsonNode objectSchema(JsonNode schema, JsonNode value) {
        if (schema == null) {
            return null;
        }
        JsonNode resolved = document.resolve(branch(schema, value));
        return resolved.has("properties") ? resolved : null;
    }

    private JsonNode branch(JsonNode schema, JsonNode value) {
        JsonNode resolved = document.resolve(schema);
        for (String combinator : List.of("oneOf", "anyOf")) {
            if (resolved.has(combinator)) {
                for (JsonNode candidate : resolved.get(combinator)) {
                    if (document.validateSchema(candidate, value).isEmpty()) {
                        return document.resolve(candidate);
                    }
                }
            }
        }
        return resolved;
    }

    private JsonNode property(JsonNode objectSchema, String field) {
        return objectSchema == null ? null : objectSchema.path("properties").get(field);
    }

    private static JsonNode get(JsonNode root, List<Object> at) {
        JsonNode node = root;
        for (Object step : at) {
            node = step instanceof String field ? node.get(field) : node.get((Integer) step);
        }
        return node;
    }

    private static List<Object> append(List<Object> at, Object step) {
        List<Object> longer = new ArrayList<>(at);
        longer.add(step);
        return longer;
    }

    private static String label(List<Object> at) {
        StringBuilder label = new StringBuilder();
        for (Object step : at) {
            if (step instanceof String field) {
                label.append(label.isEmpty() ? "" : ".").append(field);
            } else {
                label.append('[').append(step).append(']');
            }
        }
        return label.toString();
    }

    private static JsonNode number(String text) {
        return Json.mapper().readTree(text);
    }

    private static byte[] concat(byte[] first, byte[] second) {
        byte[] both = java.util.Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, both, first.length, second.length);
        return both;
    }
}
