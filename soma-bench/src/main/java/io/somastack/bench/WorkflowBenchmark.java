package io.somastack.bench;

import io.somastack.kernel.Json;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import io.somastack.policy.TestCapsules;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import tools.jackson.databind.JsonNode;

/**
 * Team workflows: what scheduling a node through a job (Temporal workflow and activities, the
 * PostgreSQL records and events, job-minute rows, reservations) adds to the same agent run started
 * directly, and 100 concurrent 5-node jobs. SomaStack runs as production does
 * ({@link SomaStackInstance}: durable embedded PostgreSQL, the embedded Temporal service), the agent
 * on the fixed-reply upstream. Paired, alternating: a run started directly ({@code POST
 * /v1/agents/{capsule}/runs}, JSON, which waits for the end) and a 5-node chain job of the same agent
 * ({@code POST /v1/jobs}, then its events followed to {@code job.completed}); per-node overhead =
 * (job - 5 x direct) / 5 at each percentile. Arguments: measured pairs (default 100), concurrent jobs
 * (default 100).
 */
public final class WorkflowBenchmark {
    private static final int NODES = 5;

    private WorkflowBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int pairs = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 100;
        int concurrent = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 100;
        try (FixedReplyUpstream upstream = FixedReplyUpstream.start();
                SomaStackInstance soma = SomaStackInstance.start(upstream.baseUrl(), """
                        agents:
                          default-model: %s
                        """.formatted(FixedReplyUpstream.MODEL))) {
            install(soma);
            String job = Json.text(Map.of("team", chain(), "input", Map.of("topic", "owls")));
            for (int i = 0; i < 20; i++) {
                direct(soma);
                job(soma, job);
            }
            long[] direct = new long[pairs];
            long[] jobs = new long[pairs];
            for (int i = 0; i < pairs; i++) {
                if (i % 2 == 0) {
                    direct[i] = direct(soma);
                    jobs[i] = job(soma, job);
                } else {
                    jobs[i] = job(soma, job);
                    direct[i] = direct(soma);
                }
            }
            Arrays.sort(direct);
            Arrays.sort(jobs);

            ResourceMeter meter = new ResourceMeter(Optional.of(soma.postgresDirectory()));
            ResourceMeter.Snapshot before = meter.snapshot();
            long started = System.nanoTime();
            long[] latencies = new long[concurrent];
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<Long>> futures = new ArrayList<>();
                for (int i = 0; i < concurrent; i++) {
                    futures.add(pool.submit(() -> job(soma, job)));
                }
                for (int i = 0; i < concurrent; i++) {
                    latencies[i] = futures.get(i).get();
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            ResourceMeter.Usage usage = meter.between(before, meter.snapshot());
            Arrays.sort(latencies);

            StringBuilder report = new StringBuilder();
            report.append("| path | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |\n|---|---:|---:|---:|---:|\n");
            report.append(row("agent run started directly (one node's work)", direct));
            report.append(row("%d-node chain job, submit to `job.completed`".formatted(NODES), jobs));
            report.append("| **scheduling overhead per node**: (job - %d x direct) / %d | %s | %s | %s | %s |\n".formatted(NODES, NODES,
                    perNode(jobs, direct, 0.50), perNode(jobs, direct, 0.95), perNode(jobs, direct, 0.99), perNode(jobs, direct, 1.0)));
            report.append("\n%d concurrent %d-node jobs: %.1f jobs/s (%.1f node runs/s), job latency p50 %s ms, p99 %s ms, max %s ms; "
                    .formatted(concurrent, NODES, concurrent / seconds, concurrent * NODES / seconds, millis(latencies, 0.50),
                            millis(latencies, 0.99), millis(latencies, 1.0)));
            report.append("CPU: SomaStack JVM %.2f cores, PostgreSQL %.2f cores, whole machine %.2f of %d cores (other %.2f)\n".formatted(
                    usage.processCores(), usage.postgresCores(), usage.machineCores(), usage.cores(), usage.otherCores()));
            System.out.println(report);
            java.nio.file.Files.writeString(java.nio.file.Path.of("soma-bench/target/workflows.md"), report.toString());
        }
    }

    /** A chain of {@link #NODES} nodes of the benchmark agent, each reading the previous answer. */
    private static Map<String, Object> chain() {
        List<Map<String, Object>> nodes = new ArrayList<>();
        List<Map<String, Object>> edges = new ArrayList<>();
        for (int i = 0; i < NODES; i++) {
            Map<String, Object> node = new LinkedHashMap<>();
            node.put("id", "n" + i);
            node.put("capsule", "bench-agent");
            node.put("input", i == 0 ? "Tell me about {{input.topic}}" : "Go on: {{n%d.output}}".formatted(i - 1));
            nodes.add(node);
            if (i > 0) {
                edges.add(Map.of("from", "n" + (i - 1), "to", "n" + i));
            }
        }
        return Map.of("nodes", nodes, "edges", edges);
    }

    private static long direct(SomaStackInstance soma) {
        long start = System.nanoTime();
        JsonNode run = soma.post("/v1/agents/bench-agent/runs", Map.of("input", "Tell me about owls"));
        long elapsed = System.nanoTime() - start;
        if (!run.get("status").asString().equals("completed")) {
            throw new IllegalStateException("run " + run);
        }
        return elapsed;
    }

    private static long job(SomaStackInstance soma, String body) {
        long start = System.nanoTime();
        String id = soma.post("/v1/jobs", Json.mapper().readTree(body)).get("id").asString();
        HttpResponse<String> events = soma.send("GET", "/v1/jobs/" + id + "/events", null, null);
        long elapsed = System.nanoTime() - start;
        if (!events.body().contains("event: job.completed")) {
            throw new IllegalStateException("job " + id + " did not complete: " + events.body());
        }
        return elapsed;
    }

    private static void install(SomaStackInstance soma) {
        SigningKeys keys = Signatures.generate();
        soma.post("/v1/policy/trusted-keys", Map.of("name", "bench publisher", "role", "publisher", "public_key_pem", keys.publicKeyPem()));
        String manifest = """
                name: bench-agent
                version: 1.0.0
                publisher: bench
                description: The workflow benchmark's agent.
                model:
                  preferred: [%s]
                  capabilities: [chat]
                system_prompt: You answer briefly.
                permissions:
                  max_budget_per_run_usd: "0.01"
                """.formatted(FixedReplyUpstream.MODEL);
        byte[] bundle = TestCapsules.zip(TestCapsules.files(manifest, TestCapsules.sbom("is-number.cdx.json")));
        HttpResponse<String> published = soma.send("POST", "/v1/capsules/publish", "application/zip", bundle,
                "Capsule-Signature", Signatures.sign(keys.privateKeyPem(), bundle) + "; key-id=" + keys.keyId());
        if (published.statusCode() != 201) {
            throw new IllegalStateException("publish answered %d: %s".formatted(published.statusCode(), published.body()));
        }
        HttpResponse<String> installed = soma.send("POST", "/v1/capsules/bench-agent/install", "application/json",
                "{}".getBytes(StandardCharsets.UTF_8));
        if (installed.statusCode() != 201) {
            throw new IllegalStateException("install answered %d: %s".formatted(installed.statusCode(), installed.body()));
        }
    }

    private static String row(String name, long[] sorted) {
        return "| %s | %s | %s | %s | %s |\n".formatted(name, millis(sorted, 0.50), millis(sorted, 0.95), millis(sorted, 0.99), millis(sorted, 1.0));
    }

    private static String perNode(long[] jobs, long[] direct, double percentile) {
        return "%.2f".formatted((at(jobs, percentile) - NODES * at(direct, percentile)) / NODES / 1e6);
    }

    private static long at(long[] sorted, double percentile) {
        return sorted[(int) Math.min(sorted.length - 1, sorted.length * percentile)];
    }

    private static String millis(long[] sorted, double percentile) {
        return "%.2f".formatted(at(sorted, percentile) / 1e6);
    }
}
