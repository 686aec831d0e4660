package com.moments.bench;

import com.moments.sdk.BlockingMomentsClient;
import com.moments.sdk.MomentsClient;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One call, three ways, against the release mock server on localhost: {@code *_sdk} through the Kotlin SDK's suspend
 * API (Kotlin {@code runBlocking} -> JNA -> Rust {@code moments-ffi} -> {@code moments-client} -> reqwest -> mock),
 * {@code *_sdkBlocking} through its blocking API ({@code MomentsClient.blocking()}: one synchronous JNA call that
 * waits for the same Rust call), and {@code *_okhttp} through OkHttp + Jackson {@code execute()} on the calling
 * thread. All return the decoded object (same fields).
 *
 * <p>Each fork starts its own mock (same seeded state), mints a customer token, creates one real reward for the
 * customer (so {@code myRewards} returns one reward), then switches the mock to test mode so triggers answer the
 * campaign's test reward without consuming budget, stock, frequency cap or velocity. Every trigger carries a
 * fresh idempotency key, so it is really processed, not replayed.
 *
 * <p>{@code overhead_*} isolate fixed costs of the SDK path: one synchronous JNA call into Rust and back with no I/O
 * ({@code status()}), an async and a blocking SDK call answered on the caller's thread before any I/O (an argument
 * error: the uniffi future machinery or the synchronous call, and the error's lift, no thread hop), and an empty
 * {@code runBlocking}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RoundTripBenchmark {
    private static final String MOMENT = "first_workout";
    private static final String DEVICE = "device-bench-1";

    private MockServer mock;
    private MomentsClient client;
    private BlockingMomentsClient blocking;
    private RestApi rest;
    private String campaignId;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        mock = MockServer.start();
        Map<String, Object> demo = new RestApi(mock.baseUrl, "").mockDemo();
        campaignId = (String) demo.get("campaign_id");
        RestApi admin = new RestApi(mock.baseUrl, (String) demo.get("secret_key"));
        String customer = "cust_bench_" + UUID.randomUUID().toString().substring(0, 8);

        rest = new RestApi(mock.baseUrl, admin.mintToken(customer, 86_400).token());
        client = Sdk.client(mock.baseUrl, DEVICE, () -> {
            try {
                RestApi.TokenDto t = admin.mintToken(customer, 86_400);
                return Sdk.token(t.token(), t.expiresInSeconds());
            } catch (IOException e) {
                throw new IllegalStateException("minting a customer token failed", e);
            }
        });

        // One real reward (live mode, in case a shared MOMENTS_MOCK_URL mock was left in test mode), then test mode
        // for the trigger benchmarks.
        admin.mockMode("live");
        RestApi.Reward real = rest.trigger(campaignId, MOMENT, DEVICE);
        admin.mockMode("test");

        // Both ways see the same data (and the SDK has its token cached before measuring).
        var info = Sdk.rewardInfo(client, campaignId, MOMENT);
        RestApi.RewardInfo restInfo = rest.rewardInfo(campaignId, MOMENT);
        check(info.getCampaignId().equals(restInfo.campaignId())
                && info.getOffer().size() == restInfo.offer().size()
                && info.getOffer().get(0).getItemId().equals(restInfo.offer().get(0).itemId()), "reward info differs");
        blocking = Sdk.blocking(client);
        var blockingInfo = Sdk.rewardInfo(blocking, campaignId, MOMENT);
        check(blockingInfo.equals(info), "blocking reward info differs");
        var mine = Sdk.myRewards(client);
        List<RestApi.Reward> restMine = rest.myRewards();
        check(mine.size() == 1 && restMine.size() == 1
                && mine.get(0).getId().equals(real.id()) && restMine.get(0).id().equals(real.id()),
                "my rewards differ: sdk " + mine.size() + ", okhttp " + restMine.size());
        check(Sdk.myRewards(blocking).equals(mine), "blocking my rewards differ");
        var sdkTest = Sdk.reportAction(client, campaignId, MOMENT);
        var blockingTest = Sdk.reportAction(blocking, campaignId, MOMENT);
        RestApi.Reward restTest = rest.trigger(campaignId, MOMENT, DEVICE);
        check(sdkTest.getTest() && blockingTest.getTest() && restTest.test() && sdkTest.getId().equals(restTest.id())
                && blockingTest.getId().equals(restTest.id()), "test rewards differ");
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        if (blocking != null) {
            blocking.close();
        }
        if (client != null) {
            client.close();
        }
        if (mock != null) {
            mock.close();
        }
    }

    @Benchmark
    public Object rewardInfo_sdk() {
        return Sdk.rewardInfo(client, campaignId, MOMENT);
    }

    @Benchmark
    public Object rewardInfo_sdkBlocking() {
        return Sdk.rewardInfo(blocking, campaignId, MOMENT);
    }

    @Benchmark
    public Object rewardInfo_okhttp() throws IOException {
        return rest.rewardInfo(campaignId, MOMENT);
    }

    @Benchmark
    public Object myRewards_sdk() {
        return Sdk.myRewards(client);
    }

    @Benchmark
    public Object myRewards_sdkBlocking() {
        return Sdk.myRewards(blocking);
    }

    @Benchmark
    public Object myRewards_okhttp() throws IOException {
        return rest.myRewards();
    }

    @Benchmark
    public Object trigger_sdk() {
        return Sdk.reportAction(client, campaignId, MOMENT);
    }

    @Benchmark
    public Object trigger_sdkBlocking() {
        return Sdk.reportAction(blocking, campaignId, MOMENT);
    }

    @Benchmark
    public Object trigger_okhttp() throws IOException {
        return rest.trigger(campaignId, MOMENT, DEVICE);
    }

    @Benchmark
    public Object overhead_jnaStatus() {
        return Sdk.status(client);
    }

    @Benchmark
    public Object overhead_asyncImmediateError() {
        return Sdk.asyncImmediateError(client);
    }

    @Benchmark
    public Object overhead_blockingImmediateError() {
        return Sdk.blockingImmediateError(blocking);
    }

    @Benchmark
    public int overhead_runBlocking() {
        return Sdk.emptyRunBlocking();
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("benchmark setup: " + what);
        }
    }
}
