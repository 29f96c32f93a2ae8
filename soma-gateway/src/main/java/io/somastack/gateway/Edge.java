package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.StorableText;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.MDC;

/**
 * What every request passes through, before and after its route: a request id
 * ({@code X-Request-Id}, echoed or made), W3C trace context ({@code traceparent} continued or
 * started, returned on the response), the log context ({@code request_id}, {@code trace_id},
 * {@code tenant_id}), body size and content-type checks, the latency histogram, each tenant's
 * traffic ({@link TenantTraffic}), and an audit entry for every authenticated request that its
 * route did not audit itself.
 */
public final class Edge {
    private static final Pattern TRACEPARENT = Pattern.compile("^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$");
    private static final Pattern REQUEST_ID = Pattern.compile("^[A-Za-z0-9._:-]{1,128}$");
    private static final String REQUEST_ID_ATTRIBUTE = "soma.requestId";
    private static final String START_ATTRIBUTE = "soma.start";
    static final String PRINCIPAL_ATTRIBUTE = "soma.principal";
    private static final String AUDITED_ATTRIBUTE = "soma.audited";
    /** The header that marks a node's requests to itself while it warms up (see {@link #openWarmUp}). */
    public static final String WARM_UP_HEADER = "X-Soma-Warm-Up";

    private final SecureRandom random = new SecureRandom();
    private final GatewayConfig config;
    private final MeterRegistry meters;
    private final GroupCommit commit;
    private final TenantTraffic traffic;
    private final Map<TimerKey, Timer> timers = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.Set<String> uploadPaths = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final java.util.Set<String> formPrefixes = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile String warmUpToken;

    public Edge(GatewayConfig config, MeterRegistry meters, GroupCommit commit, TenantTraffic traffic) {
        this.config = requireNonNull(config, "config is null");
        this.meters = requireNonNull(meters, "meters is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.traffic = requireNonNull(traffic, "traffic is null");
    }

    /**
     * Lets the paths under {@code prefix} take HTML form bodies
     * ({@code application/x-www-form-urlencoded}, at most {@code max.body.bytes}): the web
     * console's forms. The API's own routes stay JSON only.
     */
    public Edge acceptForms(String prefix) {
        formPrefixes.add(requireNonNull(prefix, "prefix is null"));
        return this;
    }

    /**
     * Lets {@code path} take {@code application/zip} bodies up to {@code max.upload.bytes}
     * (e.g. capsule bundles); every other body must be JSON of at most {@code max.body.bytes}.
     */
    public Edge acceptUploads(String path) {
        uploadPaths.add(requireNonNull(path, "path is null"));
        return this;
    }

    /**
     * Starts a warm-up: returns a fresh secret that the node's requests to itself send in
     * {@link #WARM_UP_HEADER}, so that they stay out of the request metrics (a warm-up's
     * thousands of 401 answers would look like an attack on every dashboard) until
     * {@link #closeWarmUp}. Anyone else's header is recorded like any request.
     */
    public String openWarmUp() {
        String token = hex(32);
        warmUpToken = token;
        return token;
    }

    private boolean isWarmUp(Context ctx) {
        String token = warmUpToken;
        String header = token == null ? null : ctx.header(WARM_UP_HEADER);
        return header != null && MessageDigest.isEqual(token.getBytes(StandardCharsets.UTF_8), header.getBytes(StandardCharsets.UTF_8));
    }

    /** Ends the warm-up: from now on every request is recorded. */
    public void closeWarmUp() {
        warmUpToken = null;
    }

    public void before(Context ctx) {
        ctx.attribute(START_ATTRIBUTE, System.nanoTime());
        String incoming = ctx.header("X-Request-Id");
        String requestId = incoming != null && REQUEST_ID.matcher(incoming).matches() ? incoming : "req_" + hex(12);
        ctx.attribute(REQUEST_ID_ATTRIBUTE, requestId);
        ctx.header("X-Request-Id", requestId);
        String traceId = hex(16);
        String flags = "01";
        String parent = ctx.header("traceparent");
        if (parent != null) {
            var matcher = TRACEPARENT.matcher(parent.trim().toLowerCase(Locale.ROOT));
            if (matcher.matches() && !matcher.group(1).equals("0".repeat(32))) {
                traceId = matcher.group(1);
                flags = matcher.group(3);
            }
        }
        ctx.header("traceparent", "00-" + traceId + "-" + hex(8) + "-" + flags);
        MDC.put("request_id", requestId);
        MDC.put("trace_id", traceId);
        requireStorableParameters(ctx);
        String method = ctx.method().name();
        if (method.equals("POST") || method.equals("PUT") || method.equals("PATCH")) {
            long length = ctx.req().getContentLengthLong();
            String contentType = ctx.contentType() == null ? null : ctx.contentType().toLowerCase(Locale.ROOT);
            boolean upload = isUpload(ctx.path(), contentType);
            long limit = bodyLimit(ctx.path(), contentType);
            if (length > limit) {
                throw tooLarge("The request body has %d bytes".formatted(length), limit);
            }
            boolean hasBody = length > 0 || ctx.header("Transfer-Encoding") != null;
            boolean form = contentType != null && contentType.startsWith("application/x-www-form-urlencoded")
                    && formPrefixes.stream().anyMatch(prefix -> ctx.path().startsWith(prefix));
            if (hasBody && !upload && !form && (contentType == null || !contentType.startsWith("application/json"))) {
                throw new SomaException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, uploadPaths.contains(ctx.path())
                        ? "Content-Type must be application/json or application/zip, not %s".formatted(contentType == null ? "absent" : contentType)
                        : "Content-Type must be application/json, not %s".formatted(contentType == null ? "absent" : contentType));
            }
        }
    }

    /**
     * The most bytes a request body to {@code path} may have: {@code max.upload.bytes} for a zip
     * upload to a path that {@link #acceptUploads accepts uploads}, else {@code max.body.bytes}.
     * {@link BodyLimit} enforces it on the bytes read, whatever the transfer encoding.
     */
    public long bodyLimit(String path, String contentType) {
        return isUpload(path, contentType == null ? null : contentType.toLowerCase(Locale.ROOT)) ? config.maxUploadBytes() : config.maxBodyBytes();
    }

    static SomaException tooLarge(String what, long limit) {
        return new SomaException(ErrorCode.BODY_TOO_LARGE, "%s; the limit is %d bytes".formatted(what, limit), Map.of("limit_bytes", limit));
    }

    private boolean isUpload(String path, String contentType) {
        return contentType != null && contentType.startsWith("application/zip") && uploadPaths.contains(path);
    }

    /**
     * Query parameters and the path are client text that routes search for and store: refuse
     * NUL and lone surrogates (and undecodable escapes) once here, naming the parameter.
     */
    private static void requireStorableParameters(Context ctx) {
        Map<String, java.util.List<String>> parameters;
        try {
            parameters = ctx.queryParamMap();
        } catch (IllegalArgumentException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The query string is not well-formed (a bad percent-escape?)");
        }
        parameters.forEach((name, values) -> {
            StorableText.require("query parameter " + name, name);
            values.forEach(value -> StorableText.require(name, value));
        });
        StorableText.require("path", ctx.path());
    }

    public void after(Context ctx) {
        String route = route(ctx, "unmatched");
        Long start = ctx.attribute(START_ATTRIBUTE);
        Principal principal = ctx.attribute(PRINCIPAL_ATTRIBUTE);
        if (start != null && !isWarmUp(ctx)) {
            long nanos = System.nanoTime() - start;
            timer(ctx.method().name(), route, ctx.statusCode()).record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
            if (principal != null) {
                traffic.record(principal.tenant().id(), ctx.statusCode(), nanos);
            }
        }
        if (principal != null && ctx.attribute(AUDITED_ATTRIBUTE) == null) {
            commit.auditLater(auditEntry(ctx, principal, Map.of()));
        }
        MDC.clear();
    }

    /**
     * The latency timer of one method, route template and status. Kept here once made: building
     * and registering it again on every request (tags sorted, the id looked up) was the larger
     * part of the edge's metrics cost. Routes are templates, so the map stays small.
     */
    private Timer timer(String method, String route, int status) {
        return timers.computeIfAbsent(new TimerKey(method, route, status), key -> Timer.builder("http.server.requests")
                .description("Request latency by route and status")
                .tag("method", key.method()).tag("route", key.route()).tag("status", Integer.toString(key.status()))
                .publishPercentileHistogram().register(meters));
    }

    private record TimerKey(String method, String route, int status) {
    }

    /** The audit entry for this request, for routes that write it in their own transaction. */
    public static AuditEntry auditEntry(Context ctx, Principal principal, Map<String, Object> detail) {
        ctx.attribute(AUDITED_ATTRIBUTE, true);
        String route = route(ctx, ctx.path());
        return new AuditEntry(Optional.of(principal.tenant().id()), principal.actor(), ctx.method().name() + " " + route,
                ctx.path(), requestId(ctx), detail);
    }

    /** Marks this request as audited by its route (so {@link #after} does not add another entry). */
    public static void markAudited(Context ctx) {
        ctx.attribute(AUDITED_ATTRIBUTE, true);
    }

    /** The route template that matched ({@code /v1/admin/keys/{id}}), for metrics and audit. */
    static String route(Context ctx, String fallback) {
        var endpoint = ctx.endpoints().matchedHttpEndpoint();
        return endpoint == null ? fallback : endpoint.path;
    }

    public static String requestId(Context ctx) {
        String id = ctx.attribute(REQUEST_ID_ATTRIBUTE);
        return id == null ? "unknown" : id;
    }

    /**
     * The event an SSE client last received ({@code Last-Event-ID}, a sequence number of 0 or more),
     * 0 without one; anything else is a 400 naming {@code of} ("run", "job").
     */
    public static int lastEventId(Context ctx, String of) {
        return eventId(ctx.header("Last-Event-ID"), "Last-Event-ID", of);
    }

    /**
     * An SSE event id given as {@code field} (the {@code Last-Event-ID} header, or a query parameter
     * of a client that cannot send it, such as a browser's first {@code EventSource} request): a
     * sequence number of 0 or more, 0 when absent; anything else is a 400 naming {@code of}.
     */
    public static int eventId(String text, String field, String of) {
        if (text == null || text.isBlank()) {
            return 0;
        }
        try {
            int after = Integer.parseInt(text.strip());
            if (after >= 0) {
                return after;
            }
        } catch (NumberFormatException e) {
            // answered below, like a negative id
        }
        throw new SomaException(ErrorCode.INVALID_REQUEST, "%s must be the id (a sequence number, 0 or more) of an event of this %s".formatted(field, of));
    }

    public static Optional<Principal> principal(Context ctx) {
        return Optional.ofNullable(ctx.attribute(PRINCIPAL_ATTRIBUTE));
    }

    private String hex(int bytes) {
        byte[] buffer = new byte[bytes];
        random.nextBytes(buffer);
        return HexFormat.of().formatHex(buffer);
    }
}
