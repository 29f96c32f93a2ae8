package io.somastack.workflows;

import io.somastack.workflows.internal.Templates;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * Validates a team against a job's input: every problem at once (cycles, unknown or uninstalled
 * capsules, unbound template variables, more nodes than the limit, bad edges and numbers), so a
 * 400 names them all. Pure: installation is asked through {@code installed}.
 */
public final class TeamCheck {
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final java.math.BigDecimal MAX_BUDGET = java.math.BigDecimal.TEN.pow(15);

    private TeamCheck() {
    }

    /** The problems of {@code team} for {@code input}; empty when it may run. */
    public static List<String> problems(Team team, JsonNode input, Predicate<String> installed, int maxNodes, int maxItems) {
        return check(team, Optional.of(input), installed, maxNodes, maxItems);
    }

    /**
     * The problems of a team declared in a capsule's manifest, before any job input is known: as
     * {@link #problems}, except that {@code {{input}}} and {@code {{input.<field>}}} are taken as
     * bound and a {@code for_each} over the input is not counted (both are checked when a job starts).
     */
    public static List<String> manifestProblems(Team team, Predicate<String> installed, int maxNodes) {
        return check(team, Optional.empty(), installed, maxNodes, Integer.MAX_VALUE);
    }

    private static List<String> check(Team team, Optional<JsonNode> jobInput, Predicate<String> installed, int maxNodes, int maxItems) {
        List<String> problems = new ArrayList<>();
        if (team.nodes().isEmpty()) {
            problems.add("team.nodes is empty: a team needs at least one node");
        }
        if (team.nodes().size() > maxNodes) {
            problems.add("team has %d nodes; the limit is %d (workflows.max-nodes)".formatted(team.nodes().size(), maxNodes));
        }
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < team.nodes().size(); i++) {
            Team.Node node = team.nodes().get(i);
            String at = "team.nodes[%d]".formatted(i);
            if (node.id() == null || !ID.matcher(node.id()).matches()) {
                problems.add("%s.id must be 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit".formatted(at));
                continue;
            }
            if (!ids.add(node.id())) {
                problems.add("%s.id %s is used by another node".formatted(at, node.id()));
            }
            if (node.type() != null && !node.type().equals("agent") && !node.type().equals("approval")) {
                problems.add("%s.type must be agent or approval, not '%s'".formatted(at, node.type()));
            }
            if (node.approval()) {
                if (node.capsule() != null || node.input() != null || node.forEach() != null) {
                    problems.add("%s (%s) is an approval: it takes a prompt, not capsule, input or for_each".formatted(at, node.id()));
                }
            } else {
                if (node.capsule() == null || node.capsule().isBlank()) {
                    problems.add("%s (%s).capsule is required: the name of an installed capsule".formatted(at, node.id()));
                } else if (!installed.test(node.capsule())) {
                    problems.add("%s (%s).capsule %s is not installed in this tenant".formatted(at, node.id(), node.capsule()));
                }
                if (node.input() == null || node.input().isBlank()) {
                    problems.add("%s (%s).input is required: the template of the agent's input".formatted(at, node.id()));
                }
            }
            if (node.retries() != null && (node.retries() < 0 || node.retries() > 10)) {
                problems.add("%s (%s).retries must be 0 to 10".formatted(at, node.id()));
            }
            if (node.timeoutSeconds() != null && (node.timeoutSeconds() < 1 || node.timeoutSeconds() > 86_400)) {
                problems.add("%s (%s).timeout_seconds must be 1 to 86400".formatted(at, node.id()));
            }
            if (node.budgetUsd() != null && (node.budgetUsd().signum() < 0 || node.budgetUsd().compareTo(MAX_BUDGET) >= 0)) {
                problems.add("%s (%s).budget_usd must be 0 or more and below 10^15".formatted(at, node.id()));
            }
        }
        Map<String, List<String>> successors = new HashMap<>();
        for (int i = 0; i < team.edges().size(); i++) {
            Team.Edge edge = team.edges().get(i);
            String at = "team.edges[%d]".formatted(i);
            boolean known = true;
            for (String end : new String[] {edge.from(), edge.to()}) {
                if (end == null || !ids.contains(end)) {
                    problems.add("%s names node %s, which the team does not have".formatted(at, end));
                    known = false;
                }
            }
            if (!known) {
                continue;
            }
            successors.computeIfAbsent(edge.from(), key -> new ArrayList<>()).add(edge.to());
            if (edge.when() != null && edge.when().approved() != null && !team.node(edge.from()).orElseThrow().approval()) {
                problems.add("%s.when.approved needs an approval node upstream; %s is an agent".formatted(at, edge.from()));
            }
        }
        if (team.nodes().stream().anyMatch(node -> node.id() == null || !ID.matcher(node.id()).matches())
                || team.edges().stream().anyMatch(edge -> edge.from() == null || edge.to() == null)) {
            // Without every node and edge named, the graph cannot be analysed; what is named above is enough to fix first.
            return problems;
        }
        List<String> cycle = cycle(ids, successors);
        if (!cycle.isEmpty()) {
            problems.add("team has a cycle: " + String.join(" -> ", cycle));
        }
        Map<String, Set<String>> ancestors = cycle.isEmpty() ? ancestors(team) : Map.of();
        for (Team.Node node : team.nodes()) {
            if (node.id() == null || !ids.contains(node.id()) || node.approval() || !cycle.isEmpty()) {
                continue;
            }
            Set<String> upstream = ancestors.getOrDefault(node.id(), Set.of());
            if (node.forEach() != null) {
                Optional<String> source = Templates.upstream(node.forEach());
                if (source.isPresent()) {
                    if (!upstream.contains(source.get())) {
                        problems.add("node %s.for_each reads %s, which is not upstream of it".formatted(node.id(), node.forEach()));
                    }
                } else if (jobInput.isPresent()) {
                    try {
                        int count = Templates.items(node.forEach(), jobInput.get(), Map.of()).size();
                        if (count > maxItems) {
                            problems.add("node %s.for_each has %d items; the limit is %d (workflows.max-items)".formatted(node.id(), count, maxItems));
                        }
                    } catch (IllegalArgumentException e) {
                        problems.add("node %s.for_each: %s".formatted(node.id(), e.getMessage()));
                    }
                }
            }
            for (String variable : node.input() == null ? List.<String>of() : Templates.variables(node.input())) {
                Optional<String> source = Templates.upstream(variable);
                boolean bound = source.map(upstream::contains).orElseGet(() -> variable.equals("item") ? node.forEach() != null
                        : jobInput.map(input -> Templates.value(variable, input, Map.of(), Optional.empty()).isPresent())
                                .orElse(variable.equals("input") || variable.startsWith("input.")));
                if (!bound) {
                    problems.add("node %s.input: template variable {{%s}} is unbound (%s)".formatted(node.id(), variable,
                            source.isPresent() ? "node " + source.get() + " is not upstream of it"
                                    : variable.equals("item") ? "only a for_each node has an item" : "the job input has no such field"));
                }
            }
        }
        return problems;
    }

    /** A cycle as node ids (first repeated at the end), or empty. */
    private static List<String> cycle(Set<String> ids, Map<String, List<String>> successors) {
        Map<String, Integer> state = new HashMap<>();
        for (String start : ids.stream().sorted().toList()) {
            Deque<String> path = new ArrayDeque<>();
            List<String> found = visit(start, successors, state, path);
            if (!found.isEmpty()) {
                return found;
            }
        }
        return List.of();
    }

    private static List<String> visit(String node, Map<String, List<String>> successors, Map<String, Integer> state, Deque<String> path) {
        Integer seen = state.get(node);
        if (seen != null && seen == 2) {
            return List.of();
        }
        if (seen != null && seen == 1) {
            List<String> cycle = new ArrayList<>();
            boolean in = false;
            for (String step : path.reversed()) {
                in |= step.equals(node);
                if (in) {
                    cycle.add(step);
                }
            }
            cycle.add(node);
            return cycle;
        }
        state.put(node, 1);
        path.push(node);
        for (String next : successors.getOrDefault(node, List.of())) {
            List<String> found = visit(next, successors, state, path);
            if (!found.isEmpty()) {
                return found;
            }
        }
        path.pop();
        state.put(node, 2);
        return List.of();
    }

    /** Each node's ancestors (the team has no cycle). */
    static Map<String, Set<String>> ancestors(Team team) {
        Map<String, Set<String>> ancestors = new HashMap<>();
        for (Team.Node node : team.nodes()) {
            Set<String> found = new LinkedHashSet<>();
            Deque<String> todo = new ArrayDeque<>(List.of(node.id()));
            while (!todo.isEmpty()) {
                for (Team.Edge edge : team.into(todo.pop())) {
                    if (found.add(edge.from())) {
                        todo.push(edge.from());
                    }
                }
            }
            ancestors.put(node.id(), found);
        }
        return ancestors;
    }
}
