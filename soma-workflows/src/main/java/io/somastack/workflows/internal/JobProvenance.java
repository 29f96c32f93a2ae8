package io.somastack.workflows.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.AnswerProvenance;
import io.somastack.agents.Runs;
import io.somastack.kernel.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A completed job's provenance: an in-toto Statement whose predicate lists every node run (node,
 * item, attempt, run id) with that run's own signed DSSE envelope, in the same DSSE envelope and
 * ES256 provenance keys as a run's ({@link Runs#signProvenance}), so one JWKS verifies both.
 */
public final class JobProvenance {
    public static final String PREDICATE_TYPE = "https://somastack.io/provenance/team-job/v1";

    private final Runs runs;

    public JobProvenance(Runs runs) {
        this.runs = requireNonNull(runs, "runs is null");
    }

    public String sign(JobStore.StoredJob job, List<JobStore.NodeRun> nodeRuns, Instant finishedAt) {
        List<Map<String, Object>> entries = new ArrayList<>();
        for (JobStore.NodeRun run : nodeRuns) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("node", run.node());
            entry.put("item", run.item());
            entry.put("attempt", run.attempt());
            entry.put("run_id", run.runId().toString());
            runs.provenance(job.tenant(), run.runId()).ifPresent(envelope -> entry.put("provenance", Json.mapper().readTree(envelope)));
            entries.add(entry);
        }
        Map<String, Object> predicate = new LinkedHashMap<>();
        predicate.put("job_id", job.id().toString());
        predicate.put("tenant_id", job.tenant().toString());
        predicate.put("team", job.team());
        predicate.put("input_sha256", AnswerProvenance.sha256(Json.text(job.input())));
        predicate.put("runs", entries);
        predicate.put("started_at", job.createdAt().toString());
        predicate.put("finished_at", finishedAt.toString());
        Map<String, Object> statement = new LinkedHashMap<>();
        statement.put("_type", "https://in-toto.io/Statement/v1");
        statement.put("subject", List.of(Map.of("name", "job/" + job.id(), "digest", Map.of("sha256", AnswerProvenance.sha256(Json.text(entries))))));
        statement.put("predicateType", PREDICATE_TYPE);
        statement.put("predicate", predicate);
        byte[] payload = Json.bytes(statement);
        return runs.signProvenance(payload);
    }
}
