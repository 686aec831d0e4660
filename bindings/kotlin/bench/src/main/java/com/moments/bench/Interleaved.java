package com.moments.bench;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The Kotlin SDK against OkHttp as ratios that survive a noisy machine: the four ways of making each call (SDK
 * {@code suspend}, SDK blocking, OkHttp {@code execute()}, OkHttp in a coroutine) run in short batches, one after the
 * other, in an order that rotates every round, against one mock, so all four see the same background load. JMH
 * ({@link RoundTripBenchmark}) measures each way in its own fork minutes apart, and on a shared machine the load
 * moves more in between than the difference being measured.
 *
 * <p>{@code java -cp moments-bench.jar com.moments.bench.Interleaved [ROUNDS] [BATCH]} (defaults 600 and 10) prints a
 * markdown table: per call and way, the median time per call over the rounds' batches, and per SDK way the median
 * (and quartiles) of its ratio to the OkHttp way measured in the same round; with {@code -Dmoments.bench.target=R},
 * a verdict against ratio {@code R} beside each.
 */
public final class Interleaved {
    /**
     * The target ratio, from {@code -Dmoments.bench.target} ({@code cargo xtask kotlin-bench} passes the one it judges
     * JMH by, so the target is written once); without it the table has no verdicts.
     */
    private static final Double TARGET = target();

    private Interleaved() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? positive(args[0], "ROUNDS") : 600;
        int batch = args.length > 1 ? positive(args[1], "BATCH") : 10;
        try (Fixture fx = Fixture.open()) {
            String c = fx.campaignId;
            String m = Fixture.MOMENT;
            String d = Fixture.DEVICE;
            StringBuilder out = new StringBuilder();
            out.append(String.format("Interleaved: %d rounds of %d calls per way, order rotating each round; one mock.%n%n",
                    rounds, batch));
            out.append("| call | SDK suspend | SDK blocking | OkHttp `execute()` | OkHttp in a coroutine | "
                    + "blocking / `execute()` | suspend / `execute()` | suspend / OkHttp in a coroutine |\n");
            out.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
            out.append(row("reward info (`GET …/reward_info`)", rounds, batch,
                    () -> Sdk.rewardInfo(fx.client, c, m),
                    () -> Sdk.rewardInfo(fx.blocking, c, m),
                    () -> fx.rest.rewardInfo(c, m),
                    () -> Sdk.onIoDispatcher(() -> fx.rest.rewardInfo(c, m))));
            out.append(row("my rewards (`GET /v1/rewards`)", rounds, batch,
                    () -> Sdk.myRewards(fx.client),
                    () -> Sdk.myRewards(fx.blocking),
                    fx.rest::myRewards,
                    () -> Sdk.onIoDispatcher(fx.rest::myRewards)));
            out.append(row("report an action (`POST /v1/triggers`)", rounds, batch,
                    () -> Sdk.reportAction(fx.client, c, m),
                    () -> Sdk.reportAction(fx.blocking, c, m),
                    () -> fx.rest.trigger(c, m, d),
                    () -> Sdk.onIoDispatcher(() -> fx.rest.trigger(c, m, d))));
            out.append(String.format("%nMedian µs per call; ratios are medians of the per-round ratios [quartiles].%s%n",
                    TARGET == null ? "" : String.format(" Target: SDK / OkHttp ≤ %.1f×.", TARGET)));
            // UTF-8 whatever the locale (Java 17 writes stdout in the platform charset, which turns µ and × into ?).
            PrintStream stdout = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
            stdout.print(out);
            stdout.flush();
        }
    }

    /** Measures the four ways of one call and renders their table row. */
    private static String row(String label, int rounds, int batch, Callable<Object> suspend,
                              Callable<Object> blocking, Callable<Object> execute, Callable<Object> coroutine)
            throws Exception {
        List<Callable<Object>> ways = List.of(suspend, blocking, execute, coroutine);
        // Warm-up: the JIT, the connection pools, the mock's caches.
        for (int i = 0; i < Math.max(500, rounds * batch / 4); i++) {
            for (Callable<Object> way : ways) {
                sink(way.call().hashCode());
            }
        }
        double[][] perCall = new double[ways.size()][rounds];
        for (int round = 0; round < rounds; round++) {
            for (int k = 0; k < ways.size(); k++) {
                int w = (round + k) % ways.size();
                Callable<Object> way = ways.get(w);
                long start = System.nanoTime();
                for (int i = 0; i < batch; i++) {
                    sink(way.call().hashCode());
                }
                perCall[w][round] = (System.nanoTime() - start) / 1_000.0 / batch;
            }
        }
        double[] s = perCall[0];
        double[] b = perCall[1];
        double[] e = perCall[2];
        double[] c = perCall[3];
        return String.format("| %s | %.0f | %.0f | %.0f | %.0f | %s | %s | %s |%n", label,
                median(s), median(b), median(e), median(c), ratio(b, e), ratio(s, e), ratio(s, c));
    }

    /** Median of the per-round ratios {@code a[i] / b[i]}, with quartiles and a verdict against the target. */
    static String ratio(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        Arrays.sort(r);
        double median = quantile(r, 0.5);
        String verdict = TARGET == null ? "" : median <= TARGET ? " ok" : " over";
        return String.format("%.2f× [%.2f–%.2f]%s", median, quantile(r, 0.25), quantile(r, 0.75), verdict);
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return quantile(sorted, 0.5);
    }

    /** The {@code q} quantile of sorted, non-empty {@code values} (nearest rank). */
    static double quantile(double[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) Math.floor(q * sorted.length))];
    }

    private static Double target() {
        String value = System.getProperty("moments.bench.target");
        if (value == null) {
            return null;
        }
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("moments.bench.target must be a number, got " + value, e);
        }
    }

    private static int positive(String arg, String what) {
        try {
            int n = Integer.parseInt(arg);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // below
        }
        throw new IllegalArgumentException(what + " must be a positive integer, got '" + arg + "'");
    }

    private static volatile int blackhole;

    private static void sink(int value) {
        blackhole ^= value;
    }
}
