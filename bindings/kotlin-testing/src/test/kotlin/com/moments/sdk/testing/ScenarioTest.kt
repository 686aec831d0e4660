package com.moments.sdk.testing

// The Kotlin scenario of docs/testing.md (the snippet there is this test, between the markers).
// snippet-start
import com.moments.sdk.ActionOutcome
import com.moments.sdk.ClientConfig
import com.moments.sdk.CustomerToken
import com.moments.sdk.DeviceInfo
import com.moments.sdk.DeviceType
import com.moments.sdk.MomentsClient
import com.moments.sdk.RewardStatus
import com.moments.sdk.tokenProvider
import java.time.Duration
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.ExtendWith

@ExtendWith(MomentsMockExtension::class)
class ScenarioTest {
    @Test
    fun `a reported workout earns a reward that expires with the clock`(mock: MomentsMock) = runBlocking {
        // A live campaign of the demo app: $50 a month, one client-reportable moment.
        val campaign = mock.loadCampaign(Fixtures.campaign().live().budgetUsd(50).moment("first_workout"))
        // The app's backend mints customer tokens with the demo app's secret key.
        val tokens = tokenProvider { mock.customerToken("cust_42").let { CustomerToken(it.token, it.expiresInSeconds) } }
        val config = ClientConfig(baseUrl = mock.baseUrl, device = DeviceInfo(DeviceType.ANDROID, "device-1"))

        MomentsClient(config, tokens).use { client ->
            val reward = (client.reportAction(campaign, "first_workout") as ActionOutcome.Rewarded).reward
            assertEquals(RewardStatus.Issued, reward.status)

            // Rewards stay redeemable for 30 days: past that, the mock has expired it.
            mock.clock().advance(Duration.ofDays(31))
            assertEquals(RewardStatus.Expired, client.myRewards(campaign).single { it.id == reward.id }.status)
        }

        // One trigger reached the mock, and it was answered 200.
        mock.journal().expect(Route.TRIGGER).once().withStatus(200).verify()
    }
}
// snippet-end
