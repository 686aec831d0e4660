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
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.ExtendWith

@ExtendWith(MomentsMockExtension::class)
class ScenarioTest {
    @Test
    fun `a workout reward is announced, earned, redeemed and shipped`(mock: MomentsMock) = runBlocking {
        // A live campaign of the demo app: $50 a month, $5 a reward, an Echo Dot or a gift card.
        val campaign = mock.loadCampaign(Fixtures.campaign().live().budgetUsd(50).moment("first_workout"))
        // The app's backend mints customer tokens with the demo app's secret key.
        val tokens = tokenProvider { mock.customerToken("cust_42").let { CustomerToken(it.token, it.expiresInSeconds) } }
        val config = ClientConfig(baseUrl = mock.baseUrl, device = DeviceInfo(DeviceType.ANDROID, "device-1"))
        // Where the mock sends its signed webhooks: a receiver in the test.
        val hooks = mock.webhooks().receiver("reward.shipped")

        MomentsClient(config, tokens).use { client ->
            // Announce: what the customer would get, before anything is consumed.
            assertEquals(10L, client.rewardInfo(campaign, "first_workout").remainingRewardCount)

            // Trigger: the workout is done; the reward's link comes back.
            val reward = (client.reportAction(campaign, "first_workout") as ActionOutcome.Rewarded).reward
            assertEquals(RewardStatus.Issued, reward.status)

            // Redeem: the customer opens the link and picks the Echo Dot, as their browser would.
            assertEquals("redeemed", mock.redeem(reward.url, "itm_echo_dot").status)

            // Two days on the mock's clock: the item ships, and the webhook says so.
            mock.clock().advance(Duration.ofDays(2))
            assertEquals(RewardStatus.Shipped, client.myRewards(campaign).single { it.id == reward.id }.status)
        }
        val sent = mock.webhooks().deliveriesOf("reward.shipped")
        assertTrue(sent.single().succeeded && sent.single().url == hooks.url, "$sent")

        // The report counts the action, the reward, its redemption and the $5 spent.
        val totals = mock.report(campaign).totals
        assertEquals(listOf(1L, 1L, 1L, 500L), listOf(totals.actions, totals.rewardsIssued, totals.rewardsRedeemed, totals.spend))

        // One trigger reached the mock, answered 200.
        mock.journal().expect(Route.TRIGGER).once().withStatus(200).verify()
    }
}
// snippet-end
