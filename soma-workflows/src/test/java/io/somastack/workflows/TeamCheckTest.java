package io.somastack.workflows;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class TeamCheckTest {
    private static final Set<String> INSTALLED = Set.of("planner", "researcher", "writer");

    private static Team team(String json) {
        return Json.read(json.getBytes(StandardCharsets.UTF_8), Team.class);
    }

    private static List<String> problems(String team, String input, int maxNodes) {
        JsonNode value = Json.mapper().readTree(input);
        return TeamCheck.problems(team(team), value, INSTALLED::contains, maxNodes, 5);
    }

    @Test
    void acceptsAFanOutWithAJoinAnApprovalAndConditions() {
        assertThat(problems("""
                {"nodes": [
                  {"id": "plan", "capsule": "planner", "input": "Plan {{input.topic}}"},
                  {"id": "research", "capsule": "researcher", "for_each": "input.angles", "input": "{{item}} of {{plan.output}}", "retries": 1},
                  {"id": "ok", "type": "approval", "prompt": "Publish?"},
                  {"id": "write", "capsule": "writer", "input": "{{research.output}} {{input}}"}],
                 "edges": [{"from": "plan", "to": "research"}, {"from": "research", "to": "ok"},
                           {"from": "ok", "to": "write", "when": {"approved": true}}]}""",
                "{\"topic\": \"owls\", \"angles\": [\"a\", \"b\", \"c\"]}", 10)).isEmpty();
    }

    @Test
    void aManifestsTeamHasNoInputYetSoItsInputVariablesAreTakenAsBoundButItsGraphIsChecked() {
        Team declared = team("""
                {"nodes": [
                  {"id": "plan", "capsule": "planner", "input": "Plan {{input.topic}}", "for_each": "input.angles"},
                  {"id": "write", "capsule": "ghost", "input": "{{plan.output}} {{review.output}}"}],
                 "edges": [{"from": "plan", "to": "write"}, {"from": "write", "to": "plan"}]}""");

        assertThat(TeamCheck.manifestProblems(declared, INSTALLED::contains, 10)).containsExactlyInAnyOrder(
                "team.nodes[1] (write).capsule ghost is not installed in this tenant", "team has a cycle: plan -> write -> plan");
        Team acyclic = new Team(declared.nodes(), declared.edges().subList(0, 1));
        assertThat(TeamCheck.manifestProblems(acyclic, INSTALLED::contains, 10)).containsExactlyInAnyOrder(
                "team.nodes[1] (write).capsule ghost is not installed in this tenant",
                "node write.input: template variable {{review.output}} is unbound (node review is not upstream of it)");
    }

    @Test
    void listsEveryProblemAtOnce() {
        List<String> problems = problems("""
                {"nodes": [
                  {"id": "a", "capsule": "planner", "input": "{{c.output}} {{input.missing}} {{item}}"},
                  {"id": "b", "capsule": "ghost", "input": "x"},
                  {"id": "c", "capsule": "writer", "input": "{{b.output}}"},
                  {"id": "d", "capsule": "writer", "input": "{{input.topic}}", "retries": 99}],
                 "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "a"}, {"from": "a", "to": "nowhere"}]}""",
                "{\"topic\": \"owls\"}", 3);

        assertThat(problems).anySatisfy(problem -> assertThat(problem).contains("4 nodes; the limit is 3"));
        assertThat(problems).anySatisfy(problem -> assertThat(problem).contains("capsule ghost is not installed"));
        assertThat(problems).anySatisfy(problem -> assertThat(problem).contains("retries must be 0 to 10"));
        assertThat(problems).anySatisfy(problem -> assertThat(problem).contains("names node nowhere"));
        assertThat(problems).anySatisfy(problem -> assertThat(problem).startsWith("team has a cycle: a -> b -> c -> a"));
    }

    @Test
    void namesUnboundTemplateVariables() {
        List<String> problems = problems("""
                {"nodes": [
                  {"id": "a", "capsule": "planner", "input": "{{input.missing}} {{item}} {{b.output}}"},
                  {"id": "b", "capsule": "writer", "input": "{{input.topic}}", "for_each": "input.topic"}]}""",
                "{\"topic\": \"owls\"}", 10);

        assertThat(problems).containsExactlyInAnyOrder(
                "node a.input: template variable {{input.missing}} is unbound (the job input has no such field)",
                "node a.input: template variable {{item}} is unbound (only a for_each node has an item)",
                "node a.input: template variable {{b.output}} is unbound (node b is not upstream of it)",
                "node b.for_each: for_each input.topic is not a list of the job input");
    }

    @Test
    void namesNodesWithoutIdsEdgesWithoutEndsAndBudgetsOutOfRange() {
        List<String> problems = problems("""
                {"nodes": [{"capsule": "planner", "input": "x"}, {"id": "b", "capsule": "writer", "input": "y", "budget_usd": 1000000000000000}],
                 "edges": [{"to": "b"}]}""", "{}", 10);

        assertThat(problems).containsExactlyInAnyOrder(
                "team.nodes[0].id must be 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit",
                "team.nodes[1] (b).budget_usd must be 0 or more and below 10^15",
                "team.edges[0] names node null, which the team does not have");
    }
}
