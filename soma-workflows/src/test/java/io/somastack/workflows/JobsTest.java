package io.somastack.workflows;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.agents.AnswerProvenance;
import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Jobs end to end over HTTP: the real turn loop on the tiny local model, Temporal's in-process service, PostgreSQL. */
class JobsTest {
    private static TestWorkflows soma;

    @BeforeAll
    static void start() {
        soma = new TestWorkflows();
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    private static TestWorkflows.Client tenantWithAgents(String name, Optional<Money> budget) {
        TestWorkflows.Client client = soma.tenant(name, budget);
        soma.publishAndInstall(client, name + "-teller", TestWorkflows.agentBundle(name, name + "-teller", false));
        soma.publishAndInstall(client, name + "-waiter", TestWorkflows.agentBundle(name, name + "-waiter", true));
        return client;
    }

    private static final String WAIT = "\"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"wait\"}}";

    @Test
    void runsAFiveNodeTeamWithAFanOutAJoinAnApprovalAndANodeRetriedAfterItsRunFailed() {
        TestWorkflows.Client acme = tenantWithAgents("acme", Optional.of(Money.of("100")));
        String body = """
                {"team": {"nodes": [
                   {"id": "plan", "capsule": "acme-teller", "input": "Once upon a time {{input.topic}}"},
                   {"id": "research", "capsule": "acme-teller", "for_each": "input.angles", "input": "{{item}}: {{plan.output}}"},
                   {"id": "review", "capsule": "acme-waiter", "input": "Review {{research.output}}", "retries": 1, %s},
                   {"id": "ok", "type": "approval", "prompt": "Publish it?"},
                   {"id": "write", "capsule": "acme-teller", "input": "{{review.output}} The end."}],
                 "edges": [{"from": "plan", "to": "research"}, {"from": "research", "to": "review"}, {"from": "review", "to": "ok"},
                           {"from": "ok", "to": "write", "when": {"approved": true}}]},
                 "input": {"topic": "an owl", "angles": ["the owl", "the moon", "the tree"]}}""".formatted(WAIT);

        TestGateway.Response created = soma.gateway.send("POST", "/v1/jobs", acme.apiKey(), body, "Idempotency-Key", "job-1");
        assertThat(created.status()).as(created.raw().body()).isEqualTo(201);
        String jobId = created.json().get("id").asString();
        TestGateway.Response replayed = soma.gateway.send("POST", "/v1/jobs", acme.apiKey(), body, "Idempotency-Key", "job-1");
        assertThat(replayed.json().get("id").asString()).isEqualTo(jobId);
        assertThat(soma.count("SELECT count(*) FROM workflow_jobs")).isGreaterThanOrEqualTo(1);
        assertThat(soma.count("SELECT count(*) FROM workflow_jobs WHERE tenant_id = '%s'".formatted(acme.tenant().id()))).isEqualTo(1);

        // The review node's first run is stopped while its tool runs: the node fails once and is retried.
        List<TestWorkflows.Sse> first = soma.events(jobId, acme.apiKey(), Optional.empty(),
                event -> event.event().equals("tool.started") && event.data().get("node").asString().equals("review"));
        UUID firstReview = UUID.fromString(first.getLast().data().get("run_id").asString());
        assertThat(soma.agents.runs().cancel(acme.tenant().id(), firstReview, "operator")).isTrue();

        List<TestWorkflows.Sse> second = soma.events(jobId, acme.apiKey(), Optional.of(first.getLast().id()),
                event -> event.event().equals("approval.requested"));
        assertThat(second).extracting(TestWorkflows.Sse::event).contains("node.attempt.failed");
        TestGateway.Response approved = soma.gateway.send("POST", "/v1/jobs/%s/approvals/ok".formatted(jobId), acme.apiKey(),
                "{\"approve\": true, \"comment\": \"ship it\"}");
        assertThat(approved.status()).as(approved.raw().body()).isEqualTo(200);
        List<TestWorkflows.Sse> rest = soma.events(jobId, acme.apiKey(), Optional.of(second.getLast().id()), event -> false);
        assertThat(rest.getLast().event()).as(rest.toString()).isEqualTo("job.completed");

        JsonNode job = soma.gateway.send("GET", "/v1/jobs/" + jobId, acme.apiKey(), null).json();
        assertThat(job.get("status").asString()).isEqualTo("completed");
        assertThat(job.get("nodes").valueStream().map(node -> node.get("status").asString()).toList()).containsOnly("completed");
        JsonNode plan = job.get("nodes").get(0);
        JsonNode research = job.get("nodes").get(1);
        JsonNode review = job.get("nodes").get(2);
        JsonNode write = job.get("nodes").get(4);
        assertThat(research.get("runs").size()).isEqualTo(3);
        assertThat(review.get("runs").valueStream().map(run -> run.get("attempt").asInt()).toList()).containsExactly(1, 2);
        assertThat(job.get("nodes").get(3).get("approval").get("comment").asString()).isEqualTo("ship it");

        // Outputs flow downstream: each research run read the plan's answer and its own item; review read the joined list.
        String planOutput = plan.get("output").asString();
        List<String> researchInputs = research.get("runs").valueStream().map(run -> runInput(run.get("run_id").asString())).toList();
        assertThat(researchInputs).containsExactlyInAnyOrder("the owl: " + planOutput, "the moon: " + planOutput, "the tree: " + planOutput);
        JsonNode joined = Json.mapper().readTree(research.get("output").asString());
        assertThat(joined.size()).isEqualTo(3);
        assertThat(runInput(review.get("runs").get(1).get("run_id").asString())).isEqualTo("Review " + research.get("output").asString());
        assertThat(runInput(write.get("runs").get(0).get("run_id").asString())).isEqualTo(review.get("output").asString() + " The end.");
        assertThat(runStatus(review.get("runs").get(0).get("run_id").asString())).isEqualTo("cancelled");

        // Job-minutes: one row per run and one for the job, each exactly its quantity at the catalog's price; budgets settled to them.
        String request = "job:" + jobId;
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE request_id = '%s' AND meter = 'job_minute'".formatted(request))).isEqualTo(8);
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE request_id = '%s' AND cost <> quantity * %s".formatted(request,
                TestWorkflows.JOB_MINUTE))).isZero();
        BigDecimal billed = soma.sum("SELECT sum(cost) FROM usage_ledger WHERE tenant_id = '%s'".formatted(acme.tenant().id()));
        assertThat(billed.signum()).isPositive();
        assertThat(soma.sum("SELECT spent FROM budget_spend WHERE tenant_id = '%s' AND scope = 'tenant'".formatted(acme.tenant().id())))
                .isEqualByComparingTo(billed);
        assertThat(soma.sum("SELECT reserved FROM budget_spend WHERE tenant_id = '%s' AND scope = 'tenant'".formatted(acme.tenant().id())))
                .isEqualByComparingTo(BigDecimal.ZERO);

        // The stream resumes: after any event, the rest exactly as first sent.
        List<TestWorkflows.Sse> all = soma.events(jobId, acme.apiKey(), Optional.empty(), event -> false);
        assertThat(all.getFirst().event()).isEqualTo("job.started");
        assertThat(all).extracting(TestWorkflows.Sse::id).containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, all.size()).boxed().toList());
        assertThat(soma.events(jobId, acme.apiKey(), Optional.of(5), event -> false)).isEqualTo(all.subList(5, all.size()));

        // The job's provenance lists every run's own signed provenance, and is signed itself.
        TestGateway.Response provenance = soma.gateway.send("GET", "/v1/jobs/%s/provenance".formatted(jobId), acme.apiKey(), null);
        assertThat(provenance.status()).isEqualTo(200);
        JsonNode statement = Json.mapper().readTree(Base64.getDecoder().decode(provenance.json().get("payload").asString()));
        assertThat(statement.get("predicate").get("runs").size()).isEqualTo(7);
        assertThat(statement.get("predicate").get("runs").get(0).get("provenance").get("signatures").size()).isEqualTo(1);
        assertThat(provenance.json().get("signatures").get(0).get("keyid").asString()).isNotBlank();
        // It verifies against the published provenance keys, as a run's does; a changed byte does not.
        String jwks = soma.gateway.send("GET", "/v1/provenance/jwks.json", null, null).raw().body();
        byte[] envelope = provenance.raw().body().getBytes(StandardCharsets.UTF_8);
        assertThat(AnswerProvenance.verify(envelope, jwks).valid()).isTrue();
        String payload = provenance.json().get("payload").asString();
        byte[] tampered = provenance.raw().body().replace(payload, payload.substring(0, 20) + (payload.charAt(20) == 'A' ? 'B' : 'A')
                + payload.substring(21)).getBytes(StandardCharsets.UTF_8);
        assertThat(AnswerProvenance.verify(tampered, jwks).valid()).isFalse();
    }

    @Test
    void cancellingAJobStopsItsRunningRunAndBillsWhatWasUsed() {
        TestWorkflows.Client globex = tenantWithAgents("globex", Optional.of(Money.of("100")));
        TestGateway.Response created = soma.gateway.send("POST", "/v1/jobs", globex.apiKey(), """
                {"team": {"nodes": [{"id": "slow", "capsule": "globex-waiter", "input": "Wait", %s},
                                    {"id": "after", "capsule": "globex-teller", "input": "{{slow.output}}"}],
                          "edges": [{"from": "slow", "to": "after"}]}, "input": {}}""".formatted(WAIT));
        assertThat(created.status()).as(created.raw().body()).isEqualTo(201);
        String jobId = created.json().get("id").asString();
        List<TestWorkflows.Sse> seen = soma.events(jobId, globex.apiKey(), Optional.empty(), event -> event.event().equals("tool.started"));

        TestGateway.Response cancelled = soma.gateway.send("POST", "/v1/jobs/%s/cancel".formatted(jobId), globex.apiKey(), null);
        assertThat(cancelled.status()).as(cancelled.raw().body()).isEqualTo(202);
        List<TestWorkflows.Sse> rest = soma.events(jobId, globex.apiKey(), Optional.of(seen.getLast().id()), event -> false);

        assertThat(rest.getLast().event()).isEqualTo("job.cancelled");
        JsonNode job = soma.gateway.send("GET", "/v1/jobs/" + jobId, globex.apiKey(), null).json();
        assertThat(job.get("status").asString()).isEqualTo("cancelled");
        assertThat(job.get("nodes").get(1).get("status").asString()).isEqualTo("cancelled");
        String runId = job.get("nodes").get(0).get("runs").get(0).get("run_id").asString();
        awaitRunEnded(runId);
        assertThat(runStatus(runId)).isEqualTo("cancelled");
        assertThat(soma.count("SELECT count(*) FROM agent_runs WHERE tenant_id = '%s'".formatted(globex.tenant().id()))).isEqualTo(1);
        awaitCount("SELECT count(*) FROM usage_ledger WHERE request_id = 'job:%s' AND meter = 'job_minute'".formatted(jobId), 2);
        BigDecimal billed = soma.sum("SELECT sum(cost) FROM usage_ledger WHERE tenant_id = '%s'".formatted(globex.tenant().id()));
        assertThat(soma.sum("SELECT spent FROM budget_spend WHERE tenant_id = '%s' AND scope = 'tenant'".formatted(globex.tenant().id())))
                .isEqualByComparingTo(billed);
        assertThat(soma.sum("SELECT reserved FROM budget_spend WHERE tenant_id = '%s' AND scope = 'tenant'".formatted(globex.tenant().id())))
                .isEqualByComparingTo(BigDecimal.ZERO);
        assertThat(soma.gateway.send("POST", "/v1/jobs/%s/cancel".formatted(jobId), globex.apiKey(), null).status()).isEqualTo(409);
    }

    @Test
    void refusesAJobWhoseWorstCaseExceedsTheBudgetBeforeAnythingRuns() {
        TestWorkflows.Client initech = tenantWithAgents("initech", Optional.of(Money.of("0.05")));
        // One node of 300 s at 0.60 a minute may cost 3.00: more than the tenant has.
        TestGateway.Response refused = soma.gateway.send("POST", "/v1/jobs", initech.apiKey(), """
                {"team": {"nodes": [{"id": "a", "capsule": "initech-teller", "input": "Hello"}]}, "input": {}}""");

        assertThat(refused.status()).as(refused.raw().body()).isEqualTo(402);
        assertThat(refused.json().get("type").asString()).endsWith("/budget-exhausted");
        assertThat(soma.count("SELECT count(*) FROM workflow_jobs WHERE tenant_id = '%s'".formatted(initech.tenant().id()))).isZero();
        assertThat(soma.count("SELECT count(*) FROM agent_runs WHERE tenant_id = '%s'".formatted(initech.tenant().id()))).isZero();
        assertThat(soma.sum("SELECT COALESCE(sum(reserved), 0) FROM budget_spend WHERE tenant_id = '%s'".formatted(initech.tenant().id())))
                .isEqualByComparingTo(BigDecimal.ZERO);
    }

    @Test
    void answersOneBadRequestListingEveryProblemOfTheTeam() {
        TestWorkflows.Client umbrella = tenantWithAgents("umbrella", Optional.empty());
        TestGateway.Response refused = soma.gateway.send("POST", "/v1/jobs", umbrella.apiKey(), """
                {"team": {"nodes": [{"id": "a", "capsule": "nobody", "input": "{{b.output}}"},
                                    {"id": "b", "capsule": "umbrella-teller", "input": "{{input.missing}}"}],
                          "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]}, "input": {}}""");

        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().get("type").asString()).endsWith("/invalid-request");
        List<String> errors = refused.json().get("errors").valueStream().map(JsonNode::asString).toList();
        assertThat(errors).hasSize(2);
        assertThat(errors).anySatisfy(error -> assertThat(error).contains("capsule nobody is not installed"));
        assertThat(errors).anySatisfy(error -> assertThat(error).contains("cycle: a -> b -> a"));
        assertThat(soma.gateway.send("GET", "/v1/jobs/" + UUID.randomUUID(), umbrella.apiKey(), null).status()).isEqualTo(404);
    }

    @Test
    void runsTheTeamAnInstalledCapsuleDeclaresInItsManifestByTheCapsulesName() {
        TestWorkflows.Client wonka = tenantWithAgents("wonka", Optional.of(Money.of("100")));
        soma.publishAndInstall(wonka, "wonka-crew", TestWorkflows.agentBundle("wonka", "wonka-crew", false, """
                team:
                  nodes:
                    - {id: plan, capsule: wonka-teller, input: "Once upon a time {{input.topic}}", retries: 1, budget_usd: "0.5"}
                    - {id: write, capsule: wonka-teller, input: "{{plan.output}} The end."}
                  edges:
                    - {from: plan, to: write}
                """));

        TestGateway.Response created = soma.gateway.send("POST", "/v1/jobs", wonka.apiKey(),
                "{\"team\": \"wonka-crew\", \"input\": {\"topic\": \"a fox\"}}");
        assertThat(created.status()).as(created.raw().body()).isEqualTo(201);
        String jobId = created.json().get("id").asString();
        List<TestWorkflows.Sse> events = soma.events(jobId, wonka.apiKey(), Optional.empty(), event -> false);

        assertThat(events.getLast().event()).as(events.toString()).isEqualTo("job.completed");
        JsonNode job = soma.gateway.send("GET", "/v1/jobs/" + jobId, wonka.apiKey(), null).json();
        assertThat(job.get("status").asString()).isEqualTo("completed");
        assertThat(job.get("nodes").valueStream().map(node -> node.get("id").asString()).toList()).containsExactly("plan", "write");
        JsonNode write = job.get("nodes").get(1);
        assertThat(runInput(write.get("runs").get(0).get("run_id").asString()))
                .isEqualTo(job.get("nodes").get(0).get("output").asString() + " The end.");
        assertThat(runInput(job.get("nodes").get(0).get("runs").get(0).get("run_id").asString())).isEqualTo("Once upon a time a fox");

        // A capsule that declares no team, and one that is not installed, are named in the answer.
        TestGateway.Response noTeam = soma.gateway.send("POST", "/v1/jobs", wonka.apiKey(), "{\"team\": \"wonka-teller\", \"input\": {}}");
        assertThat(noTeam.status()).isEqualTo(400);
        assertThat(noTeam.json().get("detail").asString()).contains("wonka-teller").contains("declares no team");
        TestGateway.Response missing = soma.gateway.send("POST", "/v1/jobs", wonka.apiKey(), "{\"team\": \"wonka-ghost\", \"input\": {}}");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().get("detail").asString()).contains("wonka-ghost is not installed");
        TestGateway.Response notATeam = soma.gateway.send("POST", "/v1/jobs", wonka.apiKey(), "{\"team\": 7, \"input\": {}}");
        assertThat(notATeam.status()).isEqualTo(400);
        assertThat(notATeam.json().get("detail").asString()).contains("team must be an object");
    }

    @Test
    void aBadTeamInAManifestIsRefusedListingEveryProblem() {
        TestWorkflows.Client cyberdyne = tenantWithAgents("cyberdyne", Optional.empty());
        // Its shape is checked with the rest of the manifest when it is published: every problem listed.
        HttpResponse<String> malformed = soma.publish(cyberdyne, TestWorkflows.agentBundle("cyberdyne", "cyberdyne-shapeless", false, """
                team:
                  nodes:
                    - {capsule: cyberdyne-teller, input: Hello}
                  edges:
                    - {from: a}
                """));
        assertThat(malformed.statusCode()).as(malformed.body()).isEqualTo(400);
        JsonNode problem = Json.mapper().readTree(malformed.body());
        assertThat(problem.get("type").asString()).endsWith("/manifest-invalid");
        assertThat(problem.get("errors").valueStream().map(JsonNode::asString).toList())
                .anySatisfy(error -> assertThat(error).startsWith("/team/nodes/0").contains("id"))
                .anySatisfy(error -> assertThat(error).startsWith("/team/edges/0").contains("to"));

        // Its graph is checked, as a team sent as JSON is, when a tenant installs it: a cycle and an unknown capsule, both listed.
        HttpResponse<String> published = soma.publish(cyberdyne, TestWorkflows.agentBundle("cyberdyne", "cyberdyne-loop", false, """
                team:
                  nodes:
                    - {id: a, capsule: cyberdyne-nobody, input: "{{b.output}} {{input.topic}}"}
                    - {id: b, capsule: cyberdyne-teller, input: "{{a.output}}"}
                  edges:
                    - {from: a, to: b}
                    - {from: b, to: a}
                """));
        assertThat(published.statusCode()).as(published.body()).isEqualTo(201);
        TestGateway.Response refused = soma.gateway.send("POST", "/v1/capsules/cyberdyne-loop/install", cyberdyne.apiKey(), null);
        assertThat(refused.status()).as(refused.raw().body()).isEqualTo(400);
        assertThat(refused.json().get("type").asString()).endsWith("/manifest-invalid");
        List<String> errors = refused.json().get("errors").valueStream().map(JsonNode::asString).toList();
        assertThat(errors).hasSize(2);
        assertThat(errors).anySatisfy(error -> assertThat(error).contains("capsule cyberdyne-nobody is not installed"));
        assertThat(errors).anySatisfy(error -> assertThat(error).contains("cycle: a -> b -> a"));
        TestGateway.Response notInstalled = soma.gateway.send("POST", "/v1/jobs", cyberdyne.apiKey(), "{\"team\": \"cyberdyne-loop\", \"input\": {}}");
        assertThat(notInstalled.status()).isEqualTo(404);

        // And again when a job starts it: a capsule of the team uninstalled since is named, like the input field the job lacks.
        soma.publishAndInstall(cyberdyne, "cyberdyne-crew", TestWorkflows.agentBundle("cyberdyne", "cyberdyne-crew", false, """
                team:
                  nodes:
                    - {id: a, capsule: cyberdyne-waiter, input: "{{input.topic}}"}
                """));
        assertThat(soma.gateway.send("DELETE", "/v1/installed-capsules/cyberdyne-waiter", cyberdyne.apiKey(), null).status()).isIn(200, 204);
        TestGateway.Response stale = soma.gateway.send("POST", "/v1/jobs", cyberdyne.apiKey(), "{\"team\": \"cyberdyne-crew\", \"input\": {}}");
        assertThat(stale.status()).as(stale.raw().body()).isEqualTo(400);
        assertThat(stale.json().get("errors").valueStream().map(JsonNode::asString).toList()).satisfiesExactlyInAnyOrder(
                error -> assertThat(error).contains("capsule cyberdyne-waiter is not installed"),
                error -> assertThat(error).contains("{{input.topic}} is unbound"));
        assertThat(soma.count("SELECT count(*) FROM workflow_jobs WHERE tenant_id = '%s'".formatted(cyberdyne.tenant().id()))).isZero();
    }

    @Test
    void aNodeDeniedByRuntimePolicyFailsTheJobNamingTheDecision() {
        TestWorkflows.Client stark = tenantWithAgents("stark", Optional.empty());
        TestGateway.Response policy = soma.gateway.send("POST", "/v1/policies", stark.apiKey(), Json.text(java.util.Map.of("name", "no-waiters",
                "kind", "runtime", "matchConditions", List.of(java.util.Map.of("name", "agent-run",
                        "expression", "has(request.kind) && request.kind == 'agent_run'")),
                "validations", List.of(java.util.Map.of("expression", "capsule.name != 'stark-waiter'", "message", "no waiting here")))));
        assertThat(policy.status()).as(policy.raw().body()).isEqualTo(201);
        TestGateway.Response created = soma.gateway.send("POST", "/v1/jobs", stark.apiKey(), """
                {"team": {"nodes": [{"id": "a", "capsule": "stark-teller", "input": "Once"},
                                    {"id": "b", "capsule": "stark-waiter", "input": "{{a.output}}", "retries": 2}],
                          "edges": [{"from": "a", "to": "b"}]}, "input": {}}""");
        String jobId = created.json().get("id").asString();

        List<TestWorkflows.Sse> events = soma.events(jobId, stark.apiKey(), Optional.empty(), event -> false);

        assertThat(events.getLast().event()).isEqualTo("job.failed");
        JsonNode job = soma.gateway.send("GET", "/v1/jobs/" + jobId, stark.apiKey(), null).json();
        assertThat(job.get("status").asString()).isEqualTo("failed");
        assertThat(job.get("nodes").get(0).get("status").asString()).isEqualTo("completed");
        assertThat(job.get("nodes").get(1).get("status").asString()).isEqualTo("failed");
        String reason = job.get("reason").asString();
        java.util.regex.Matcher decision = java.util.regex.Pattern.compile("decision ([0-9a-f-]{36})").matcher(reason);
        assertThat(decision.find()).as(reason).isTrue();
        JsonNode decisions = soma.gateway.send("GET", "/v1/decisions?capsule=stark-waiter", stark.apiKey(), null).json().get("data");
        assertThat(decisions.toString()).contains(decision.group(1)).contains("denied");
        // A denial is not retried: no run of the denied node was started.
        assertThat(job.get("nodes").get(1).get("runs").size()).isEqualTo(1);
        assertThat(soma.count("SELECT count(*) FROM agent_runs WHERE agent = 'stark-waiter'")).isZero();
    }

    @Test
    void aJobResumesFromItsRecordsWhenTheEngineRestartsAndRunsNoCompletedNodeAgain() {
        TestWorkflows.Client hooli = tenantWithAgents("hooli", Optional.empty());
        TestGateway.Response created = soma.gateway.send("POST", "/v1/jobs", hooli.apiKey(), """
                {"team": {"nodes": [{"id": "first", "capsule": "hooli-teller", "input": "Once"},
                                    {"id": "ok", "type": "approval"},
                                    {"id": "last", "capsule": "hooli-teller", "input": "{{first.output}}"}],
                          "edges": [{"from": "first", "to": "ok"}, {"from": "ok", "to": "last"}]}, "input": {}}""");
        String jobId = created.json().get("id").asString();
        List<TestWorkflows.Sse> before = soma.events(jobId, hooli.apiKey(), Optional.empty(), event -> event.event().equals("approval.requested"));

        soma.restart();

        assertThat(soma.gateway.send("POST", "/v1/jobs/%s/approvals/ok".formatted(jobId), hooli.apiKey(), "{\"approve\": true}").status())
                .isEqualTo(200);
        List<TestWorkflows.Sse> after = soma.events(jobId, hooli.apiKey(), Optional.of(before.getLast().id()), event -> false);
        assertThat(after.getLast().event()).isEqualTo("job.completed");
        assertThat(soma.count("SELECT count(*) FROM workflow_node_runs WHERE job_id = '%s' AND node = 'first'".formatted(jobId))).isEqualTo(1);
        assertThat(soma.count("SELECT count(*) FROM agent_runs WHERE tenant_id = '%s'".formatted(hooli.tenant().id()))).isEqualTo(2);
        List<TestWorkflows.Sse> all = soma.events(jobId, hooli.apiKey(), Optional.empty(), event -> false);
        assertThat(all.stream().filter(event -> event.event().equals("node.started")).count()).isEqualTo(2);
        assertThat(all.stream().filter(event -> event.event().equals("approval.requested")).count()).isEqualTo(1);
    }

    private static String runInput(String runId) {
        return soma.database.jdbi().withHandle(handle -> handle.createQuery("SELECT input FROM agent_runs WHERE id = :id")
                .bind("id", UUID.fromString(runId)).mapTo(String.class).one());
    }

    private static String runStatus(String runId) {
        return soma.database.jdbi().withHandle(handle -> handle.createQuery("SELECT status FROM agent_runs WHERE id = :id")
                .bind("id", UUID.fromString(runId)).mapTo(String.class).one());
    }

    private static void awaitRunEnded(String runId) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (runStatus(runId).equals("running") && System.nanoTime() < deadline) {
            sleep();
        }
    }

    private static void awaitCount(String sql, long expected) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (soma.count(sql) < expected && System.nanoTime() < deadline) {
            sleep();
        }
        assertThat(soma.count(sql)).isEqualTo(expected);
    }

    private static void sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
