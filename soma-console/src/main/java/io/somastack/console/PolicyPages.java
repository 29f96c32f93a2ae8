package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Tenant;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.policy.Actor;
import io.somastack.policy.Constitution;
import io.somastack.policy.PolicyDefinition;
import io.somastack.policy.PolicyEngine;
import io.somastack.policy.PolicyKind;
import io.somastack.policy.PolicyTenant;
import io.somastack.policy.StoredPolicy;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The tenant's Policies page: its CEL policies, a form to save one (a policy with one
 * validation; a compile error is shown at the expression, with CEL's message, and nothing is
 * saved), and a trial of the policy against a sample JSON input. Saving and trying go through
 * the constitution's {@code Policies} and {@code PolicyEngine}, as {@code /v1/policies} does.
 */
public final class PolicyPages {
    private final Constitution constitution;
    private final Tenants tenants;

    public PolicyPages(Constitution constitution, Tenants tenants) {
        this.constitution = requireNonNull(constitution, "constitution is null");
        this.tenants = requireNonNull(tenants, "tenants is null");
    }

    /** What the form holds, echoed back when it is shown again. */
    private record Form(String name, String kind, String expression, String message, String input) {
        static Form of(Context ctx) {
            return new Form(field(ctx, "name"), Optional.ofNullable(ctx.formParam("kind")).orElse("runtime"), field(ctx, "expression"),
                    field(ctx, "message"), Optional.ofNullable(ctx.formParam("input")).orElse("{}"));
        }

        private static String field(Context ctx, String name) {
            return Optional.ofNullable(ctx.formParam(name)).orElse("").trim();
        }

        PolicyDefinition definition() {
            PolicyKind policyKind = PolicyKind.parse(kind);
            return new PolicyDefinition(name, policyKind, List.of(), List.of(new PolicyDefinition.Validation(expression,
                    message.isEmpty() ? "denied by " + name : message)));
        }
    }

    void policies(Context ctx, Session session) {
        render(ctx, session, new Form("", "runtime", "", "", "{\"model\": {\"id\": \"local\"}}"), "", "");
    }

    void save(Context ctx, Session session) {
        Form form = Form.of(ctx);
        TenantId tenant = session.tenant().orElseThrow();
        try {
            PolicyDefinition definition = form.definition();
            Actor actor = new Actor("console:" + session.keyId().orElseThrow(), Edge.requestId(ctx));
            boolean exists = constitution.policies().get(tenant, definition.name()).isPresent();
            StoredPolicy saved = exists ? constitution.policies().update(tenant, definition, actor)
                    : constitution.policies().create(tenant, definition, actor);
            ctx.redirect("/console/policies?saved=%s&version=%d".formatted(Html.url(saved.definition().name()), saved.version()),
                    HttpStatus.SEE_OTHER);
        } catch (SomaException e) {
            render(ctx, session, form, errorAtExpression(e), "");
        }
    }

    void evaluate(Context ctx, Session session) {
        Form form = Form.of(ctx);
        Tenant tenant = tenants.find(session.tenant().orElseThrow()).orElseThrow();
        Optional<Map<String, Object>> input = sample(form.input());
        if (input.isEmpty()) {
            render(ctx, session, form, "", "<p class=\"error\" role=\"alert\" id=\"trial\">The sample input is not a JSON object.</p>");
            return;
        }
        try {
            PolicyEngine.Trial trial = constitution.engine().evaluate(new PolicyTenant(tenant.id(), tenant.tier()), form.definition(), input.get());
            String verdict = !trial.matched() ? "Not applicable: the policy's conditions do not match this input."
                    : trial.violation().map(violation -> "Denied: " + violation.message()).orElse("Allowed: every validation is true.");
            render(ctx, session, form, "", "<div class=\"notice\" role=\"status\" id=\"trial\"><p>" + Html.text(verdict) + "</p></div>");
        } catch (SomaException e) {
            render(ctx, session, form, errorAtExpression(e), "");
        }
    }

    @SuppressWarnings("unchecked")
    private static Optional<Map<String, Object>> sample(String text) {
        try {
            tools.jackson.databind.JsonNode tree = Json.tree(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return tree.isObject() ? Optional.of(Json.convert(tree, Map.class)) : Optional.empty();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The compiler's errors (one per expression, with CEL's position), else the problem's detail. */
    private static String errorAtExpression(SomaException e) {
        Object errors = e.extensions().get("errors");
        return errors instanceof List<?> list && !list.isEmpty() ? String.join("; ", list.stream().map(String::valueOf).toList())
                : e.getMessage();
    }

    private void render(Context ctx, Session session, Form form, String expressionError, String trial) {
        TenantId tenant = session.tenant().orElseThrow();
        StringBuilder rows = new StringBuilder();
        for (StoredPolicy policy : constitution.policies().list(tenant)) {
            rows.append("<tr><th scope=\"row\">%s</th><td>%s</td><td>%d</td><td><code>%s</code></td></tr>\n".formatted(
                    Html.text(policy.definition().name()), Html.text(policy.definition().kind().wireName()), policy.version(),
                    Html.text(String.join(" && ", policy.definition().validations().stream().map(PolicyDefinition.Validation::expression).toList()))));
        }
        String saved = Optional.ofNullable(ctx.queryParam("saved")).map(name -> "<p class=\"notice\" role=\"status\" id=\"saved\">Saved %s, version %s.</p>"
                .formatted(Html.text(name), Html.text(Optional.ofNullable(ctx.queryParam("version")).orElse("?")))).orElse("");
        StringBuilder kinds = new StringBuilder();
        for (PolicyKind kind : PolicyKind.values()) {
            String name = kind.wireName();
            kinds.append("<option value=\"%s\"%s>%s</option>".formatted(name, name.equals(form.kind().toLowerCase(Locale.ROOT)) ? " selected" : "", name));
        }
        String error = expressionError.isEmpty() ? ""
                : "<p class=\"error\" role=\"alert\" id=\"expression-error\">" + Html.text(expressionError) + "</p>";
        Layout.render(ctx, "Policies", Optional.of(session), """
                %s
                <table id="policies"><caption>Policies of this tenant</caption><thead><tr><th scope="col">Name</th><th scope="col">Kind</th>
                <th scope="col">Version</th><th scope="col">Validation</th></tr></thead><tbody>%s</tbody></table>
                <h2>Edit or add a policy</h2>
                <form method="post" action="/console/policies" class="card wide">%s
                <label for="name">Name</label><input id="name" name="name" value="%s" required maxlength="63">
                <label for="kind">Kind</label><select id="kind" name="kind">%s</select>
                <label for="expression">Validation (CEL, must be true)</label>
                <textarea id="expression" name="expression" rows="3" required%s>%s</textarea>
                %s
                <label for="message">Message when it is false</label><input id="message" name="message" value="%s">
                <label for="input">Sample input (JSON) to evaluate</label><textarea id="input" name="input" rows="4">%s</textarea>
                <div class="buttons"><button type="submit">Save policy</button>
                <button type="submit" formaction="/console/policies/evaluate">Evaluate on the sample</button></div>
                </form>
                %s
                """.formatted(saved, rows, Layout.csrfField(session), Html.text(form.name()), kinds,
                error.isEmpty() ? "" : " aria-invalid=\"true\" aria-describedby=\"expression-error\"", Html.text(form.expression()), error,
                Html.text(form.message()), Html.text(form.input()), trial));
    }
}
