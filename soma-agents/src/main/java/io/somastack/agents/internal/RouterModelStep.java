package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.Principal;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.metering.Ledger;
import io.somastack.metering.Price;
import io.somastack.metering.PriceBook;
import io.somastack.metering.UsageRecord;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.ModelRouter;
import io.somastack.models.Route;
import io.somastack.models.StreamSink;
import io.somastack.store.GroupCommit;
import java.util.Optional;
import java.util.UUID;

/**
 * {@link ModelStep} over the {@link ModelRouter} (its fallbacks and circuit breakers), writing
 * one ledger row per call. Stands in until the metered call moves into soma-models
 * ({@code MeteredModels}); then this class goes and the loop calls that instead. Thread-safe.
 */
public final class RouterModelStep implements ModelStep {
    private final ModelRouter router;
    private final PriceBook prices;
    private final Ledger ledger;
    private final GroupCommit commit;
    private final Clock clock;
    private final int defaultMaxTokens;

    public RouterModelStep(ModelRouter router, PriceBook prices, Ledger ledger, GroupCommit commit, Clock clock, int defaultMaxTokens) {
        this.router = requireNonNull(router, "router is null");
        this.prices = requireNonNull(prices, "prices is null");
        this.ledger = requireNonNull(ledger, "ledger is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.defaultMaxTokens = defaultMaxTokens;
    }

    @Override
    public boolean knows(String alias) {
        try {
            router.route(alias);
            return true;
        } catch (SomaException e) {
            if (e.code() == ErrorCode.UNKNOWN_MODEL) {
                return false;
            }
            throw e;
        }
    }

    @Override
    public Money worstCase(ChatRequest request) {
        Route route = router.route(request.model());
        long prompt = route.countPromptTokens(request);
        long output = request.maxOutputTokens(defaultMaxTokens);
        return route.targets().stream().map(target -> price(route.model(), target.providerName(), target.upstreamModel()).cost(prompt, output))
                .max(Money::compareTo).orElse(Money.ZERO);
    }

    @Override
    public Metered stream(Principal principal, UUID runId, UUID reservationId, ChatRequest request, StreamSink sink) {
        ChatResult result = router.stream(request, sink);
        Price price = price(request.model(), result.provider(), result.model());
        UsageRecord usage = new UsageRecord(principal.tenant().id(), principal.keyId(), runId.toString(), Optional.empty(), request.model(),
                result.provider(), result.model(), result.usage().inputTokens(), result.usage().outputTokens(), result.usage().estimated(), price);
        Ledger.Entry entry = commit.execute(tx -> ledger.record(tx, usage, reservationId));
        return new Metered(result, entry.id(), entry.cost());
    }

    /** The price of the model that served: by its upstream name, else by the alias; free if unpriced. */
    private Price price(String alias, String provider, String upstreamModel) {
        var now = clock.now();
        return prices.price(provider + "/" + upstreamModel, now).or(() -> prices.price(upstreamModel, now)).or(() -> prices.price(alias, now))
                .orElseGet(() -> Price.free(upstreamModel));
    }
}
