package com.moments.bench;

import com.moments.sdk.BlockingMomentsClient;
import com.moments.sdk.MomentsClient;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What both benchmarks measure against: a release mock (its own child process, or {@code MOMENTS_MOCK_URL}), the
 * SDK's client and its blocking view, and the OkHttp + Jackson baseline, all as the same customer.
 *
 * <p>Opening it mints a customer token, creates one real reward for the customer (so {@code myRewards} returns one
 * reward), then switches the mock to test mode so triggers answer the campaign's test reward without consuming
 * budget, stock, frequency cap or velocity, and checks that every way of calling sees the same data. Every trigger
 * carries a fresh idempotency key, so it is really processed, not replayed.
 */
final class Fixture implements AutoCloseable {
    static final String MOMENT = "first_workout";
    static final String DEVICE = "device-bench-1";

    final MockServer mock;
    final MomentsClient client;
    final BlockingMomentsClient blocking;
    final RestApi rest;
    final String campaignId;

    private Fixture(MockServer mock, MomentsClient client, BlockingMomentsClient blocking, RestApi rest,
                    String campaignId) {
        this.mock = mock;
        this.client = client;
        this.blocking = blocking;
        this.rest = rest;
        this.campaignId = campaignId;
    }

    static Fixture open() throws IOException {
        MockServer mock = MockServer.start();
        try {
            return setUp(mock);
        } catch (IOException | RuntimeException e) {
            try {
                mock.close();
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            throw e;
        }
    }

    private static Fixture setUp(MockServer mock) throws IOException {
        Map<String, Object> demo = new RestApi(mock.baseUrl, "").mockDemo();
        String campaignId = (String) demo.get("campaign_id");
        RestApi admin = new RestApi(mock.baseUrl, (String) demo.get("secret_key"));
        String customer = "cust_bench_" + UUID.randomUUID().toString().substring(0, 8);

        RestApi rest = new RestApi(mock.baseUrl, admin.mintToken(customer, 86_400).token());
        MomentsClient client = Sdk.client(mock.baseUrl, DEVICE, () -> {
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

        // Every way sees the same data (and the SDK has its token cached before measuring).
        var info = Sdk.rewardInfo(client, campaignId, MOMENT);
        RestApi.RewardInfo restInfo = rest.rewardInfo(campaignId, MOMENT);
        check(info.getCampaignId().equals(restInfo.campaignId())
                && info.getOffer().size() == restInfo.offer().size()
                && info.getOffer().get(0).getItemId().equals(restInfo.offer().get(0).itemId()), "reward info differs");
        BlockingMomentsClient blocking = Sdk.blocking(client);
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
        RestApi.Reward coroutineTest = Sdk.onIoDispatcher(() -> rest.trigger(campaignId, MOMENT, DEVICE));
        check(sdkTest.getTest() && blockingTest.getTest() && restTest.test() && coroutineTest.test()
                && sdkTest.getId().equals(restTest.id()) && blockingTest.getId().equals(restTest.id()),
                "test rewards differ");
        return new Fixture(mock, client, blocking, rest, campaignId);
    }

    @Override
    public void close() {
        blocking.close();
        client.close();
        try {
            mock.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("benchmark setup: " + what);
        }
    }
}
