package io.somastack.models;

import static java.util.Objects.requireNonNull;

/**
 * The outcome of one model call, for the client and for the ledger.
 *
 * @param completion the answer; for a stream, the message assembled from the chunks that were
 *     generated (also when the client left early)
 * @param usage tokens to bill, never absent, see {@link Usage#estimated()}
 * @param clientGone true when the stream's client disconnected and generation was stopped
 * @param provider name of the provider that served the call (the one the ledger records)
 * @param model upstream model that served the call
 */
public record ChatResult(ChatCompletion completion, Usage usage, boolean clientGone, String provider, String model) {

    public ChatResult {
        requireNonNull(completion, "completion is null");
        requireNonNull(usage, "usage is null");
        requireNonNull(provider, "provider is null");
        requireNonNull(model, "model is null");
    }
}
