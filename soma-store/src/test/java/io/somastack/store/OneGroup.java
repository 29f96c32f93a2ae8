package io.somastack.store;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;

/**
 * Submits units of work so that they commit as one group: a first unit holds the committer until
 * all are queued, and the committer then takes them in one batch. For a {@link GroupCommit} with
 * one committer thread and a batch size of at least the number of units. Shared with other modules
 * through soma-store's test jar.
 */
public final class OneGroup {
    private OneGroup() {
    }

    /** The futures of {@code works}, in order, once all of them are queued behind the held committer. */
    public static <T> List<CompletableFuture<T>> submit(GroupCommit commit, List<Function<Tx, T>> works) {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch queued = new CountDownLatch(1);
        CompletableFuture<Object> holder = commit.submit(tx -> {
            held.countDown();
            await(queued);
            return null;
        });
        await(held);
        List<CompletableFuture<T>> futures = works.stream().map(commit::submit).toList();
        queued.countDown();
        holder.join();
        return futures;
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
