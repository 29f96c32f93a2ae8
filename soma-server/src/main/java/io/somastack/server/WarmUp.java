package io.somastack.server;

import io.somastack.gateway.Edge;
import io.somastack.models.ChatRequest;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The warm-up before ready ({@code warmup}, off by default): for its length, the node sends
 * itself chat completions over loopback HTTP with an API key that no tenant has, before
 * {@code /readyz} says ready. Each one runs the web server, the edge, the key's lookup in
 * PostgreSQL and the problem answer (401); the sender runs Jetty's HTTP client as a model
 * provider's upstream call does (a JSON POST, the answer read from a stream), and parses the
 * request body as the chat route does. So the JIT has compiled that code before the first
 * tenant's call instead of during it: after a start, the first seconds under load answered in
 * about half a second at p50 (docs/BENCHMARKS.md, "Session of 2026-12-02 (06:14 UTC)").
 *
 * <p>Nothing is written and nothing is billed: an unknown key is no tenant, so there is no audit
 * entry, ledger row or rate-limit token, and the requests carry the edge's warm-up secret, so
 * they stay out of the request metrics. What only a tenant's call runs (its budget, the ledger's
 * write, the model) still compiles on the first real calls.
 */
final class WarmUp {
    private static final Logger LOG = LoggerFactory.getLogger(WarmUp.class);
    private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);
    static final String PATH = "/v1/chat/completions";
    private static final byte[] BODY = """
            {"model":"warm-up","messages":[{"role":"system","content":"You answer in one sentence."},\
            {"role":"user","content":"Say hello to the warm-up."}],"max_tokens":16,"temperature":0}"""
            .getBytes(StandardCharsets.UTF_8);
    /** Well formed, so the lookup runs: a random key of no tenant. */
    private static final String UNKNOWN_KEY = "sk-soma-warm-up-" + java.util.UUID.randomUUID().toString().replace("-", "");

    /**
     * What a warm-up did.
     *
     * @param requests requests answered
     * @param unexpected answers other than 401, or requests that failed (a warm-up goes on regardless)
     * @param took how long it ran
     * @param stoppedByExit whether the process began to shut down meanwhile (SIGTERM, Ctrl-C)
     */
    record Outcome(long requests, long unexpected, Duration took, boolean stoppedByExit) {
    }

    private WarmUp() {
    }

    /**
     * Sends requests to the server at {@code host} (loopback for a wildcard address) and
     * {@code port} from two loops per core until {@code length} has passed, logging progress
     * every 5 s. Each carries {@code token} ({@link Edge#openWarmUp}), which keeps it out of the
     * metrics. Stops early when a request gets no answer at all.
     */
    static Outcome run(String host, int port, Duration length, String token) {
        long started = System.nanoTime();
        long deadline = started + length.toNanos();
        AtomicLong requests = new AtomicLong();
        AtomicLong unexpected = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        // The address the server listens on; a wildcard one is reached on loopback.
        String address = host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]") ? "127.0.0.1" : host;
        URI uri;
        try {
            uri = new URI("http", null, address, port, PATH, null, null); // brackets an IPv6 address itself
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("Cannot warm up at host " + host + ": " + e.getMessage(), e);
        }
        HttpClient client = new HttpClient();
        // A SIGTERM while warming up (a rolling update that gave up on this node) ends the warm-up's requests at once.
        AtomicBoolean exiting = new AtomicBoolean();
        Thread stopAtExit = new Thread(() -> {
            exiting.set(true);
            stop.set(true);
        }, "warm-up stop");
        Runtime.getRuntime().addShutdownHook(stopAtExit);
        try {
            client.setFollowRedirects(false);
            client.start();
            client.getProtocolHandlers().clear();
            int loops = 2 * Runtime.getRuntime().availableProcessors();
            List<Thread> threads = new ArrayList<>(loops);
            for (int loop = 0; loop < loops; loop++) {
                threads.add(Thread.ofVirtual().name("warm-up-" + loop).start(() -> {
                    try {
                        while (System.nanoTime() < deadline && !stop.get()) {
                            requests.incrementAndGet();
                            if (!answeredUnauthorized(client, uri, token)) {
                                unexpected.incrementAndGet();
                            }
                        }
                    } catch (RuntimeException e) {
                        // No answer at all: nothing left to warm up. The first such failure is logged and ends the warm-up.
                        unexpected.incrementAndGet();
                        if (!stop.getAndSet(true)) {
                            LOG.warn("Warm-up: stopped early, a request to {} failed: {}", uri, e.toString());
                        }
                    }
                }));
            }
            long nextProgress = started + PROGRESS_EVERY.toNanos();
            for (Thread thread : threads) {
                while (!thread.join(Duration.ofMillis(100))) {
                    if (System.nanoTime() >= nextProgress) {
                        LOG.info("Warm-up: {} requests in {} s of {} s", requests.get(), TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started),
                                length.toSeconds());
                        nextProgress += PROGRESS_EVERY.toNanos();
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warn("Warm-up: stopped early: {}", e.toString());
        } finally {
            stop.set(true);
            try {
                Runtime.getRuntime().removeShutdownHook(stopAtExit);
            } catch (IllegalStateException shuttingDown) {
                // the hook has run or is running
            }
            try {
                client.stop();
            } catch (Exception e) {
                LOG.warn("Warm-up: cannot stop its HTTP client: {}", e.toString());
            }
        }
        Outcome outcome = new Outcome(requests.get(), unexpected.get(), Duration.ofNanos(System.nanoTime() - started), exiting.get());
        if (outcome.unexpected() > 0 && !outcome.stoppedByExit()) {
            LOG.warn("Warm-up: {} of {} requests were not answered 401 as expected", outcome.unexpected(), outcome.requests());
        }
        return outcome;
    }

    /**
     * One request; true when it was answered 401 (what a key of no tenant gets). Throws when no
     * answer came (refused, timed out).
     */
    private static boolean answeredUnauthorized(HttpClient client, URI uri, String token) {
        try {
            ChatRequest.parse(BODY);
        } catch (RuntimeException e) {
            return false;
        }
        InputStreamResponseListener listener = new InputStreamResponseListener();
        client.newRequest(uri).method(HttpMethod.POST)
                .headers(fields -> fields.put("Authorization", "Bearer " + UNKNOWN_KEY).put(Edge.WARM_UP_HEADER, token))
                .body(new BytesRequestContent("application/json", BODY))
                .send(listener);
        try {
            Response response = listener.get(10, TimeUnit.SECONDS);
            try (InputStream body = listener.getInputStream()) {
                body.readAllBytes();
            }
            return response.getStatus() == 401;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (Exception e) {
            throw new IllegalStateException(e.toString(), e);
        }
    }
}
