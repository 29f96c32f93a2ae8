package io.somastack.workflows;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.somastack.models.ToolChoice;
import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

/**
 * A team: a DAG of agent steps, as submitted in {@code POST /v1/jobs} (its wire format). Nodes
 * run an installed capsule on an input template over the job's input and upstream outputs, or
 * wait for a person's approval; edges may carry a condition on the upstream node's outcome. A
 * node with {@code for_each} fans out: one run per item of a list, its output the JSON array of
 * their answers, which downstream nodes join on. {@link TeamCheck} validates a team as a whole.
 *
 * <pre>{@code
 * {"nodes": [{"id": "plan", "capsule": "planner", "input": "{{input.topic}}"},
 *            {"id": "ok", "type": "approval", "prompt": "Publish?"},
 *            {"id": "write", "capsule": "writer", "input": "{{plan.output}}"}],
 *  "edges": [{"from": "plan", "to": "ok"}, {"from": "ok", "to": "write", "when": {"approved": true}}]}
 * }</pre>
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Team(List<Node> nodes, List<Edge> edges) {
    public Team {
        nodes = nodes == null ? List.of() : List.copyOf(nodes);
        edges = edges == null ? List.of() : List.copyOf(edges);
    }

    /** A node by id. */
    public Optional<Node> node(String id) {
        return nodes.stream().filter(node -> id.equals(node.id())).findFirst();
    }

    /** The edges into {@code id}. */
    public List<Edge> into(String id) {
        return edges.stream().filter(edge -> id.equals(edge.to())).toList();
    }

    /**
     * One step. {@code type} is {@code agent} (default) or {@code approval}.
     *
     * @param forEach {@code input.<field>} (a JSON array in the job input) or {@code <node>.output}
     *        (an upstream answer, one item per non-blank line, or a JSON array): one run per item,
     *        {@code {{item}}} in the template
     * @param retries further attempts after a failed run (default 0)
     * @param timeoutSeconds per attempt (an approval: how long it may wait), default 300
     * @param budgetUsd the most the node's runs may cost, per item and attempt; reserved with the job
     * @param toolChoice how the run's first model call must use the capsule's tools (as on a run)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Node(String id, String type, String capsule, String input, @JsonProperty("for_each") String forEach, Integer retries,
            @JsonProperty("timeout_seconds") Integer timeoutSeconds, @JsonProperty("budget_usd") BigDecimal budgetUsd, String prompt,
            @JsonProperty("tool_choice") ToolChoice toolChoice) {
        public static final int DEFAULT_TIMEOUT_SECONDS = 300;

        public boolean approval() {
            return "approval".equals(type);
        }

        public int attempts() {
            return 1 + (retries == null ? 0 : retries);
        }

        public int timeout() {
            return timeoutSeconds == null ? DEFAULT_TIMEOUT_SECONDS : timeoutSeconds;
        }
    }

    /** An edge; {@code when}, if present, must hold for {@code to} to run on it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Edge(String from, String to, Condition when) {
    }

    /**
     * A condition on the upstream node: {@code approved} (an approval node's answer),
     * {@code output_contains} (the upstream answer contains the text). A node whose every incoming
     * edge does not hold is skipped, and so are nodes that only it leads to.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Condition(Boolean approved, @JsonProperty("output_contains") String outputContains) {
        public boolean holds(String upstreamOutput, Optional<Boolean> upstreamApproved) {
            requireNonNull(upstreamOutput, "upstreamOutput is null");
            if (approved != null && !upstreamApproved.map(approved::equals).orElse(false)) {
                return false;
            }
            return outputContains == null || upstreamOutput.contains(outputContains);
        }
    }
}
