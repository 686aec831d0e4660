package com.moments.bench;

import com.moments.sdk.BlockingMomentsClient;
import com.moments.sdk.MomentsClient;
import java.io.IOException;
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
 * One call, four ways, against the release mock server on localhost: {@code *_sdk} through the Kotlin SDK's suspend
 * API (Kotlin {@code runBlocking} -> JNA -> Rust {@code moments-ffi} -> {@code moments-client} -> reqwest -> mock),
 * {@code *_sdkBlocking} through its blocking API ({@code MomentsClient.blocking()}: one synchronous JNA call that
 * waits for the same Rust call), and {@code *_okhttp} through OkHttp + Jackson {@code execute()} on the calling
 * thread, {@code *_okhttpCoroutine} the way coroutine code calls OkHttp ({@code withContext(Dispatchers.IO)
 * { execute() }} from {@code runBlocking}: the same two thread hand-offs as the SDK's suspend call). All return the
 * decoded object (same fields).
 *
 * <p>Each fork opens its own {@link Fixture}: its own mock (same seeded state), one customer, test mode for
 * triggers (every trigger carries a fresh idempotency key, so it is really processed, not replayed).
 *
 * <p>{@code overhead_*} isolate fixed costs of the SDK path: one synchronous JNA call into Rust and back with no I/O
 * ({@code BlockingMomentsClient.status}), an async and a blocking SDK call answered on the caller's thread before any I/O (an argument
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
    private Fixture fx;
    private MomentsClient client;
    private BlockingMomentsClient blocking;
    private RestApi rest;
    private String campaignId;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        fx = Fixture.open();
        client = fx.client;
        blocking = fx.blocking;
        rest = fx.rest;
        campaignId = fx.campaignId;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    @Benchmark
    public Object rewardInfo_sdk() {
        return Sdk.rewardInfo(client, campaignId, Fixture.MOMENT);
    }

    @Benchmark
    public Object rewardInfo_sdkBlocking() {
        return Sdk.rewardInfo(blocking, campaignId, Fixture.MOMENT);
    }

    @Benchmark
    public Object rewardInfo_okhttp() throws IOException {
        return rest.rewardInfo(campaignId, Fixture.MOMENT);
    }

    @Benchmark
    public Object rewardInfo_okhttpCoroutine() {
        return Sdk.onIoDispatcher(() -> rest.rewardInfo(campaignId, Fixture.MOMENT));
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
    public Object myRewards_okhttpCoroutine() {
        return Sdk.onIoDispatcher(() -> rest.myRewards());
    }

    @Benchmark
    public Object trigger_sdk() {
        return Sdk.reportAction(client, campaignId, Fixture.MOMENT);
    }

    @Benchmark
    public Object trigger_sdkBlocking() {
        return Sdk.reportAction(blocking, campaignId, Fixture.MOMENT);
    }

    @Benchmark
    public Object trigger_okhttp() throws IOException {
        return rest.trigger(campaignId, Fixture.MOMENT, Fixture.DEVICE);
    }

    @Benchmark
    public Object trigger_okhttpCoroutine() {
        return Sdk.onIoDispatcher(() -> rest.trigger(campaignId, Fixture.MOMENT, Fixture.DEVICE));
    }

    @Benchmark
    public Object overhead_jnaStatus() {
        return Sdk.status(blocking);
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
}
