package com.example.javaapp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.moments.sdk.ActionOutcome;
import com.moments.sdk.BlockingMomentsClient;
import com.moments.sdk.ClientConfig;
import com.moments.sdk.ClientStatus;
import com.moments.sdk.CustomerToken;
import com.moments.sdk.DeviceInfo;
import com.moments.sdk.DeviceType;
import com.moments.sdk.ErrorCode;
import com.moments.sdk.MomentsClient;
import com.moments.sdk.MomentsException;
import com.moments.sdk.Progress;
import com.moments.sdk.Reward;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The SDK as a plain Java app uses it, compiled by javac against the public API only (this package is not the
 * SDK's): a blocking token provider, the blocking client, the typed exception and every field of it.
 */
class JavaClientTest {
    private final HttpClient http = HttpClient.newHttpClient();
    private final String customerId = "cust_java_" + UUID.randomUUID().toString().substring(0, 8);
    private Process mock;
    private String baseUrl;

    @BeforeEach
    void startMock() throws Exception {
        String bin = System.getenv("MOMENTS_MOCK_BIN");
        assertNotNull(bin, "set MOMENTS_MOCK_BIN to the moments-mock-server binary (cargo xtask kotlin-test does)");
        mock = new ProcessBuilder(bin, "--port", "0").redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(mock.getInputStream(), StandardCharsets.UTF_8));
        Pattern listening = Pattern.compile("listening on (http://\\S+)");
        for (String line = out.readLine(); line != null && baseUrl == null; line = out.readLine()) {
            Matcher m = listening.matcher(line);
            if (m.find()) baseUrl = m.group(1);
        }
        assertNotNull(baseUrl, "the mock printed its URL");
        Thread drain = new Thread(() -> out.lines().forEach(line -> { }), "mock-output");
        drain.setDaemon(true);
        drain.start();
    }

    @AfterEach
    void stopMock() throws Exception {
        mock.destroyForcibly().waitFor();
    }

    /** What the app's backend does: mints a customer token with the secret key. */
    private CustomerToken mintToken(String secretKey) throws Exception {
        HttpResponse<String> answer = http.send(
            HttpRequest.newBuilder(URI.create(baseUrl + "/v1/customer_tokens"))
                .header("Authorization", "Bearer " + secretKey)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                    "{\"customer_id\":\"" + customerId + "\",\"marketplace\":\"US\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(201, answer.statusCode(), answer.body());
        return new CustomerToken(field(answer.body(), "token"), Long.parseLong(number(answer.body(), "expires_in_seconds")));
    }

    private String demo(String name) throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create(baseUrl + "/_mock/demo")).build(),
            HttpResponse.BodyHandlers.ofString()).body();
        return field(body, name);
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return m.group(1);
    }

    private static String number(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*(\\d+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return m.group(1);
    }

    @Test
    void aJavaAppReportsAnActionAndReadsEveryFieldOfTheTypedException() throws Exception {
        String campaignId = demo("campaign_id");
        String secretKey = demo("secret_key");
        AtomicInteger fetches = new AtomicInteger();
        ClientConfig config = new ClientConfig(baseUrl, new DeviceInfo(DeviceType.ANDROID, "device-java-1"));
        assertEquals(60_000L, config.getCallTimeoutMs());

        try (MomentsClient client = new MomentsClient(config, () -> {
            fetches.incrementAndGet();
            return mintToken(secretKey);
        })) {
            BlockingMomentsClient blocking = client.blocking();

            ActionOutcome outcome = blocking.reportAction(campaignId, "first_workout");
            if (!(outcome instanceof ActionOutcome.Rewarded rewarded)) {
                fail("expected a reward, got " + outcome);
                return;
            }
            Reward reward = rewarded.getReward();
            assertTrue(reward.getUrl().startsWith("http"), reward.getUrl());
            assertTrue(reward.getExpiresAt().isAfter(reward.getCreatedAt()));
            assertEquals(ClientStatus.Online.INSTANCE, blocking.getStatus());
            assertEquals(ClientStatus.Online.INSTANCE, client.getStatus().getValue());

            ActionOutcome goal = blocking.reportAction(campaignId, "five_workouts", 2);
            Progress progress = ((ActionOutcome.InProgress) goal).getProgress();
            assertEquals(2L, progress.getCurrent());
            assertEquals(5L, progress.getTarget());

            try {
                blocking.reportAction(campaignId, "first_workout");
                fail("a second report of the same moment is over the frequency cap");
            } catch (MomentsException.Api e) {
                assertEquals(ErrorCode.FREQUENCY_CAP_REACHED, e.getCode());
                assertEquals("frequency_cap_reached", e.getCode().getWireName());
                assertTrue(e.getRequestId().startsWith("req_"), e.getRequestId());
                assertFalse(e.isRetryable());
                assertEquals(Integer.valueOf(422), e.getHttpStatus());
                assertNull(e.getParam());
                assertFalse(e.getMessage().isEmpty());
            }

            try {
                blocking.reportAction(campaignId, "first_workout", 0);
                fail("quantity 0 is refused");
            } catch (MomentsException e) {
                assertInstanceOf(MomentsException.InvalidArgument.class, e);
                assertEquals(ErrorCode.INVALID_ARGUMENT, e.getCode());
                assertNull(e.getRequestId());
                assertNull(e.getHttpStatus());
                assertFalse(e.isRetryable());
            }

            assertTrue(blocking.myRewards().stream().anyMatch(r -> r.getId().equals(reward.getId())));
            assertEquals(1, fetches.get(), "one token for every call");
        }
    }
}
