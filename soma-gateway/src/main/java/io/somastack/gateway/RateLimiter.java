package io.somastack.gateway;

/**
 * Enforces {@link RateLimits}. A request takes one request token from its tenant's and its
 * key's buckets and is refused while their token-per-minute buckets are in debt; after a
 * model call the tokens it really used are taken (which may put the bucket in debt, so the
 * next request waits). One implementation, {@link BucketRateLimiter}, over two bucket
 * stores: in-process for one node, Redis for a cluster.
 */
public interface RateLimiter {
    /** Admits the request or throws {@code RATE_LIMITED} with its retry time. */
    Decision admit(Principal principal);

    /** Charges {@code tokens} model tokens after a call. */
    void charge(Principal principal, long tokens);

    /**
     * What the client is told in the {@code RateLimit-*} headers: the tightest request limit.
     *
     * @param resetSeconds seconds until that bucket is full again
     */
    record Decision(long limit, long remaining, long resetSeconds) {
        public static final Decision UNLIMITED = new Decision(0, 0, 0);
    }
}
