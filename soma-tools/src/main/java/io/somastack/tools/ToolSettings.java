package io.somastack.tools;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.databind.JsonNode;

/**
 * A tenant's settings of one capsule tool: the headers its HTTP or MCP host receives, each
 * naming one of the tenant's {@link ToolSecrets}, as
 * {@code {"headers": {"Authorization": {"secret": "api-token"}}}}. Keyed by capsule and tool
 * name, not by install, so they can be set before installing (the MCP install check sends
 * them). Naming a secret the tenant does not have is refused when the settings are put (409
 * {@code tool-secret-missing}), and, if the secret was deleted since, when the tool is called.
 * Thread-safe.
 */
public final class ToolSettings {
    private static final Pattern CAPSULE = Pattern.compile("^[a-z0-9][a-z0-9-]{0,62}$");
    private static final Pattern TOOL = Pattern.compile("^[a-zA-Z0-9_-]{1,64}$");
    /** An RFC 9110 field name. */
    private static final Pattern HEADER = Pattern.compile("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$");
    /** Headers the executors and the protocols own: a setting never replaces them. */
    private static final Set<String> RESERVED = Set.of("host", "content-length", "content-type", "content-encoding", "transfer-encoding",
            "connection", "keep-alive", "upgrade", "te", "trailer", "expect", "accept", "accept-encoding", "user-agent", "mcp-session-id",
            "mcp-protocol-version", "last-event-id", "traceparent", "tracestate", "forwarded", "via");
    public static final int MAX_HEADERS = 16;

    private final Jdbi jdbi;
    private final ToolSecrets secrets;
    private final Clock clock;

    ToolSettings(Jdbi jdbi, ToolSecrets secrets, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.secrets = requireNonNull(secrets, "secrets is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** A header's value: the secret whose value it is. */
    public record SecretRef(String secret) {
    }

    /** The settings of one tool, as put and got. */
    public record Settings(Map<String, SecretRef> headers) {
        public Settings {
            headers = Map.copyOf(headers);
        }

        public static final Settings NONE = new Settings(Map.of());
    }

    /** The settings of a tool with when they were last put (empty when never). */
    public record Stored(String capsule, String tool, Settings settings, Optional<Instant> updatedAt) {
    }

    public Stored get(TenantId tenant, String capsule, String tool) {
        requireNames(capsule, tool);
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT settings::text AS settings, updated_at FROM tool_settings WHERE tenant_id = :tenant AND capsule = :capsule AND tool = :tool""")
                .bind("tenant", tenant.value()).bind("capsule", capsule).bind("tool", tool)
                .map((rs, ctx) -> new Stored(capsule, tool, Json.convert(Json.tree(rs.getString("settings").getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                        Settings.class), Optional.of(rs.getTimestamp("updated_at").toInstant()))).findOne())
                .orElse(new Stored(capsule, tool, Settings.NONE, Optional.empty()));
    }

    /** Validates {@code body} (every problem listed, 400), checks each named secret exists (409), and stores it. */
    public Stored put(TenantId tenant, String capsule, String tool, JsonNode body) {
        requireNames(capsule, tool);
        Settings settings = parse(body);
        Set<String> named = new HashSet<>();
        settings.headers().values().forEach(ref -> named.add(ref.secret()));
        Set<String> existing = new HashSet<>();
        secrets.list(tenant).forEach(info -> existing.add(info.name()));
        List<String> missing = named.stream().filter(name -> !existing.contains(name)).sorted().toList();
        if (!missing.isEmpty()) {
            throw new SomaException(ErrorCode.TOOL_SECRET_MISSING, "This tenant has no tool secret %s: put it first with PUT /v1/tool-secrets/{name}"
                    .formatted(missing), Map.of("secrets", missing));
        }
        Instant now = clock.now().truncatedTo(ChronoUnit.MICROS);
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO tool_settings (tenant_id, capsule, tool, settings, updated_at) VALUES (:tenant, :capsule, :tool, CAST(:settings AS jsonb), :now)
                ON CONFLICT (tenant_id, capsule, tool) DO UPDATE SET settings = EXCLUDED.settings, updated_at = EXCLUDED.updated_at""")
                .bind("tenant", tenant.value()).bind("capsule", capsule).bind("tool", tool).bind("settings", Json.text(settings))
                .bind("now", now).execute());
        return new Stored(capsule, tool, settings, Optional.of(now));
    }

    /**
     * The headers to send to {@code tool}'s host for {@code tenant}, secrets opened; empty when
     * it has no settings. A named secret that no longer exists (or does not open) is 409
     * {@code tool-secret-missing}. The values must never be logged.
     */
    public Map<String, String> headers(TenantId tenant, String capsule, String tool) {
        Settings settings = get(tenant, capsule, tool).settings();
        if (settings.headers().isEmpty()) {
            return Map.of();
        }
        Map<String, String> values = secrets.open(tenant, settings.headers().values().stream().map(SecretRef::secret).distinct().toList());
        Map<String, String> headers = new TreeMap<>();
        List<String> missing = new ArrayList<>();
        settings.headers().forEach((header, ref) -> {
            String value = values.get(ref.secret());
            if (value == null) {
                missing.add(ref.secret());
            } else {
                headers.put(header, value);
            }
        });
        if (!missing.isEmpty()) {
            throw new SomaException(ErrorCode.TOOL_SECRET_MISSING, "The settings of %s/%s name tool secret%s %s, which this tenant does not have: put it with PUT /v1/tool-secrets/{name}"
                    .formatted(capsule, tool, missing.size() == 1 ? "" : "s", missing.stream().distinct().sorted().toList()),
                    Map.of("capsule", capsule, "tool", tool, "secrets", missing.stream().distinct().sorted().toList()));
        }
        return headers;
    }

    /** {@code {"headers": {<name>: {"secret": <name>}}}} and nothing else, every problem listed. */
    static Settings parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The body is {\"headers\": {\"<Header-Name>\": {\"secret\": \"<secret name>\"}}}");
        }
        List<String> problems = new ArrayList<>();
        body.propertyNames().forEach(field -> {
            if (!field.equals("headers")) {
                problems.add("unknown field '%s' (only headers)".formatted(field));
            }
        });
        Map<String, SecretRef> headers = new LinkedHashMap<>();
        JsonNode given = body.get("headers");
        if (given == null || !given.isObject()) {
            problems.add("headers must be an object of header name to {\"secret\": \"<name>\"}");
        } else {
            if (given.size() > MAX_HEADERS) {
                problems.add("headers has %d entries; at most %d".formatted(given.size(), MAX_HEADERS));
            }
            Set<String> seen = new HashSet<>();
            for (Map.Entry<String, JsonNode> entry : given.properties()) {
                String header = entry.getKey();
                String shown = header.length() > 64 ? header.substring(0, 64) + "…" : header;
                if (!HEADER.matcher(header).matches()) {
                    problems.add("headers.%s: a header name is 1 to 64 token characters (RFC 9110)".formatted(Json.text(shown)));
                    continue;
                }
                String lower = header.toLowerCase(Locale.ROOT);
                if (RESERVED.contains(lower) || lower.startsWith("proxy-") || lower.startsWith("sec-")) {
                    problems.add("headers.%s is set by SomaStack or the protocol, not by settings".formatted(header));
                    continue;
                }
                if (!seen.add(lower)) {
                    problems.add("headers.%s is given twice (header names are case-insensitive)".formatted(header));
                    continue;
                }
                JsonNode value = entry.getValue();
                if (!value.isObject() || value.size() != 1 || !value.has("secret") || !value.get("secret").isString()) {
                    problems.add("headers.%s must be {\"secret\": \"<name>\"} (a header's value is always a tool secret)".formatted(header));
                    continue;
                }
                String secret = value.get("secret").asString();
                if (!ToolSecrets.NAME.matcher(secret).matches()) {
                    problems.add("headers.%s.secret is not a tool secret name (%s)".formatted(header, ToolSecrets.NAME.pattern()));
                    continue;
                }
                headers.put(header, new SecretRef(secret));
            }
        }
        if (!problems.isEmpty()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The tool settings have %d problem%s: %s".formatted(problems.size(),
                    problems.size() == 1 ? "" : "s", String.join("; ", problems)), Map.of("errors", problems));
        }
        return new Settings(headers);
    }

    private static void requireNames(String capsule, String tool) {
        if (capsule == null || !CAPSULE.matcher(capsule).matches()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A capsule name is 1 to 63 of a-z, 0-9 and '-', starting with a letter or digit");
        }
        if (tool == null || !TOOL.matcher(tool).matches()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A tool name is 1 to 64 of A-Z, a-z, 0-9, '_' and '-'");
        }
    }
}
