package com.moments.bench;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * The same API calls as the SDK's, made directly with OkHttp and decoded with Jackson into records carrying the same
 * fields as the SDK's records (times parsed to {@link Instant}, statuses and kinds to enums): what an app would write
 * without the SDK. Used for the benchmark's baseline and for its setup (minting tokens, the mock's control API).
 */
final class RestApi {
    private static final MediaType JSON = MediaType.get("application/json");
    private static final String USER_AGENT = "moments-bench-okhttp/0.1.0";
    static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    // The app's view, field for field the SDK's `Reward`, `RewardInfo`, `OfferItem`, `Money`, `Goal`.
    enum Status { ISSUED, REDEEMED, SHIPPED, DELIVERED, EXPIRED, CANCELLED, FLAGGED, BLOCKED, OTHER }

    enum Kind { PHYSICAL, DIGITAL, CREDIT, OTHER }

    record Money(long amount, String currency) {}

    record OfferItem(String itemId, String title, Kind kind, Money value, String imageUrl) {}

    record Goal(long target, long windowSeconds) {}

    record Reward(String id, String campaignId, String momentId, Status status, String url, boolean test,
                  Instant expiresAt, Instant createdAt, List<OfferItem> offer) {}

    record RewardInfo(String campaignId, String momentId, String campaignStatus, String announcementMessage,
                      String imageUrl, Instant campaignEndAt, long remainingRewardCount, List<OfferItem> offer,
                      Goal goal) {}

    // The wire shapes (unknown fields ignored, as the contract requires of clients).
    record OfferItemDto(String itemId, String title, String kind, Money value, String imageUrl) {}

    record OfferDto(List<OfferItemDto> items) {}

    record RewardDto(String id, String campaignId, String momentId, String status, String url, boolean test,
                     String expiresAt, String createdAt, OfferDto offer) {}

    record RewardInfoDto(String campaignId, String momentId, String campaignStatus, String announcementMessage,
                         String imageUrl, String campaignEndAt, long remainingRewardCount, OfferDto offer,
                         Goal goal) {}

    record RewardListDto(List<RewardDto> data, boolean hasMore, String nextCursor) {}

    record TriggerResultDto(String outcome, RewardDto reward) {}

    record TokenDto(String token, long expiresInSeconds) {}

    record TriggerDevice(String type, String id) {}

    record TriggerBody(String campaignId, String momentId, TriggerDevice device, int quantity) {}

    private final OkHttpClient http = new OkHttpClient();
    private final HttpUrl base;
    private final String bearer;

    /** Calls to {@code baseUrl} with {@code Authorization: Bearer <bearer>}. */
    RestApi(String baseUrl, String bearer) {
        this.base = HttpUrl.get(baseUrl);
        this.bearer = bearer;
    }

    /** {@code GET /v1/campaigns/{id}/moments/{moment_id}/reward_info}. */
    RewardInfo rewardInfo(String campaignId, String momentId) throws IOException {
        HttpUrl url = base.newBuilder()
                .addPathSegments("v1/campaigns").addPathSegment(campaignId)
                .addPathSegment("moments").addPathSegment(momentId).addPathSegment("reward_info")
                .build();
        RewardInfoDto d = call(get(url), RewardInfoDto.class);
        return new RewardInfo(d.campaignId(), d.momentId(), d.campaignStatus(), d.announcementMessage(),
                d.imageUrl(), Instant.parse(d.campaignEndAt()), d.remainingRewardCount(), offer(d.offer()), d.goal());
    }

    /** {@code GET /v1/rewards?limit=100}, every page, like the SDK's {@code myRewards()}. */
    List<Reward> myRewards() throws IOException {
        List<Reward> all = new ArrayList<>();
        String cursor = null;
        do {
            HttpUrl.Builder url = base.newBuilder().addPathSegments("v1/rewards").addQueryParameter("limit", "100");
            if (cursor != null) {
                url.addQueryParameter("cursor", cursor);
            }
            RewardListDto page = call(get(url.build()), RewardListDto.class);
            for (RewardDto r : page.data()) {
                all.add(reward(r));
            }
            cursor = page.hasMore() ? page.nextCursor() : null;
        } while (cursor != null);
        return all;
    }

    /** {@code POST /v1/triggers} with a fresh idempotency key; the issued reward. */
    Reward trigger(String campaignId, String momentId, String deviceId) throws IOException {
        byte[] body = MAPPER.writeValueAsBytes(
                new TriggerBody(campaignId, momentId, new TriggerDevice("Android", deviceId), 1));
        Request request = new Request.Builder()
                .url(base.newBuilder().addPathSegments("v1/triggers").build())
                .header("Authorization", "Bearer " + bearer)
                .header("Accept", "application/json")
                .header("User-Agent", USER_AGENT)
                .header("Idempotency-Key", UUID.randomUUID().toString())
                .post(RequestBody.create(body, JSON))
                .build();
        TriggerResultDto result = call(request, TriggerResultDto.class);
        if (!"reward".equals(result.outcome()) || result.reward() == null) {
            throw new IOException("expected a reward, got outcome " + result.outcome());
        }
        return reward(result.reward());
    }

    /** {@code POST /v1/customer_tokens} (this client's bearer must be the secret key). */
    TokenDto mintToken(String customerId, int ttlSeconds) throws IOException {
        return post("v1/customer_tokens",
                Map.of("customer_id", customerId, "marketplace", "US", "ttl_seconds", ttlSeconds), TokenDto.class);
    }

    /** {@code GET /_mock/demo}: the demo fixture ({@code secret_key}, {@code campaign_id}, ...). */
    @SuppressWarnings("unchecked")
    Map<String, Object> mockDemo() throws IOException {
        return call(get(base.newBuilder().addPathSegments("_mock/demo").build()), Map.class);
    }

    /** {@code POST /_mock/mode}: {@code test} makes every trigger answer the campaign's test reward. */
    void mockMode(String mode) throws IOException {
        post("_mock/mode", Map.of("mode", mode), Map.class);
    }

    private <T> T post(String path, Object json, Class<T> type) throws IOException {
        Request request = new Request.Builder()
                .url(base.newBuilder().addPathSegments(path).build())
                .header("Authorization", "Bearer " + bearer)
                .header("Accept", "application/json")
                .header("Idempotency-Key", UUID.randomUUID().toString())
                .post(RequestBody.create(MAPPER.writeValueAsBytes(json), JSON))
                .build();
        return call(request, type);
    }

    private Request get(HttpUrl url) {
        return new Request.Builder()
                .url(url)
                .header("Authorization", "Bearer " + bearer)
                .header("Accept", "application/json")
                .header("User-Agent", USER_AGENT)
                .build();
    }

    private <T> T call(Request request, Class<T> type) throws IOException {
        try (Response response = http.newCall(request).execute()) {
            ResponseBody body = response.body();
            if (!response.isSuccessful() || body == null) {
                // The status and the error code only: never echo credentials.
                String code = body == null
                        ? ""
                        : MAPPER.readTree(body.byteStream()).path("error").path("code").asText();
                throw new IOException(request.method() + " " + request.url().encodedPath() + ": HTTP "
                        + response.code() + " " + code);
            }
            return MAPPER.readValue(body.byteStream(), type);
        }
    }

    private static Reward reward(RewardDto r) {
        return new Reward(r.id(), r.campaignId(), r.momentId(), status(r.status()), r.url(), r.test(),
                Instant.parse(r.expiresAt()), Instant.parse(r.createdAt()), offer(r.offer()));
    }

    private static List<OfferItem> offer(OfferDto offer) {
        List<OfferItem> items = new ArrayList<>(offer.items().size());
        for (OfferItemDto i : offer.items()) {
            items.add(new OfferItem(i.itemId(), i.title(), kind(i.kind()), i.value(), i.imageUrl()));
        }
        return items;
    }

    private static Status status(String s) {
        return switch (s) {
            case "issued" -> Status.ISSUED;
            case "redeemed" -> Status.REDEEMED;
            case "shipped" -> Status.SHIPPED;
            case "delivered" -> Status.DELIVERED;
            case "expired" -> Status.EXPIRED;
            case "cancelled" -> Status.CANCELLED;
            case "flagged" -> Status.FLAGGED;
            case "blocked" -> Status.BLOCKED;
            default -> Status.OTHER;
        };
    }

    private static Kind kind(String k) {
        return switch (k) {
            case "physical" -> Kind.PHYSICAL;
            case "digital" -> Kind.DIGITAL;
            case "credit" -> Kind.CREDIT;
            default -> Kind.OTHER;
        };
    }
}
