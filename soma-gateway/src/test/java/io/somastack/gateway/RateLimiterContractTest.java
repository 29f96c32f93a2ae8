package io.somastack.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.net.Socket;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The contract every bucket store passes: in-process and Redis (the real server on 127.0.0.1:6379). */
class RateLimiterContractTest {
    private static final RateLimits LIMITS = new RateLimits(
            Map.of("small", new RateLimits.Limit(5, 100)), new RateLimits.Limit(0, 0));

    abstract static class Contract {
        private BucketStore store;
        private RateLimiter limiter;

        abstract BucketStore store();

        @BeforeEach
        void start() {
            store = store();
            limiter = new BucketRateLimiter(LIMITS, store);
        }

        @AfterEach
        void stop() {
            store.close();
        }

        private static Principal principal() {
            Tenant tenant = new Tenant(new TenantId(UUID.randomUUID()), "t", "small", "local", Optional.empty(), Instant.now());
            return new Principal(tenant, UUID.randomUUID(), Set.of("*"), Optional.empty(), Principal.Via.API_KEY);
        }

        @Test
        void admitsUpToTheRequestLimitThenRefusesWithARetryTime() {
            Principal principal = principal();
            for (int i = 0; i < 5; i++) {
                assertThat(limiter.admit(principal).remaining()).isEqualTo(4 - i);
            }
            assertThatThrownBy(() -> limiter.admit(principal)).isInstanceOfSatisfying(SomaException.class, e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED);
                assertThat((Long) e.extensions().get("retry_after_seconds")).isBetween(1L, 61L);
            });
        }

        @Test
        void tokensChargedAfterACallRefuseTheNextRequestWhileInDebt() {
            Principal principal = principal();
            limiter.admit(principal);
            limiter.charge(principal, 150);

            assertThatThrownBy(() -> limiter.admit(principal)).isInstanceOfSatisfying(SomaException.class,
                    e -> assertThat(e.detail()).contains("token limit of 100"));
        }

        @Test
        void tenantsDoNotShareBuckets() {
            Principal first = principal();
            Principal second = principal();
            for (int i = 0; i < 5; i++) {
                limiter.admit(first);
            }
            assertThat(limiter.admit(second).remaining()).isEqualTo(4);
        }
    }

    @Nested
    class InProcess extends Contract {
        @Override
        BucketStore store() {
            return new LocalBucketStore();
        }
    }

    @Nested
    class InRedis extends Contract {
        @Override
        BucketStore store() {
            try (Socket ignored = new Socket("127.0.0.1", 6379)) {
                return new RedisBucketStore("redis://127.0.0.1:6379");
            } catch (java.io.IOException e) {
                String reason = "Redis is not running on 127.0.0.1:6379";
                if ("true".equals(System.getenv("CI"))) {
                    throw new IllegalStateException(reason, e);
                }
                Assumptions.abort(reason);
                return null;
            }
        }
    }
}
