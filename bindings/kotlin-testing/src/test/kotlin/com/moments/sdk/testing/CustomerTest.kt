package com.moments.sdk.testing

import com.moments.sdk.ActionOutcome
import com.moments.sdk.ClientConfig
import com.moments.sdk.CustomerToken
import com.moments.sdk.DeviceInfo
import com.moments.sdk.DeviceType
import com.moments.sdk.MomentsClient
import com.moments.sdk.tokenProvider
import java.net.ConnectException
import java.net.Socket
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The customer's and the backend's side: redeem, report, and a webhook receiver that stops with its mock. */
class CustomerTest {
    private fun rewardUrl(mock: MomentsMock, customer: String): String = runBlocking {
        val tokens = tokenProvider { mock.customerToken(customer).let { CustomerToken(it.token, it.expiresInSeconds) } }
        MomentsClient(ClientConfig(baseUrl = mock.baseUrl, device = DeviceInfo(DeviceType.ANDROID)), tokens).use {
            (it.reportAction(mock.demo().campaignId, "first_workout") as ActionOutcome.Rewarded).reward.url
        }
    }

    @Test
    fun `a digital item is redeemed with a code, and bad input names the field`() {
        MomentsMock.start().use { mock ->
            val redeemed = mock.redeem(rewardUrl(mock, "cust_1"), "itm_gc_10")
            assertEquals("redeemed", redeemed.status)
            assertEquals("itm_gc_10", redeemed.redeemedItemId)
            assertNotNull(redeemed.digitalCode)

            val notALink = assertThrows(MockException.Invalid::class.java) { mock.redeem("https://example.com/x", "itm_gc_10") }
            assertEquals("reward_url", notALink.field)
            val unknown = assertThrows(MockException.Api::class.java) { mock.redeem(rewardUrl(mock, "cust_2"), "itm_nope") }
            assertEquals("item_id", unknown.field)

            val totals = mock.report(mock.demo().campaignId).totals
            assertEquals(2L, totals.rewardsIssued)
            assertEquals(1L, totals.rewardsRedeemed)
            assertEquals(listOf(0L, 0L), listOf(totals.rewardsFlagged, totals.refunds))

            // Past the 30-day expiry the unredeemed reward expires and its cost is refunded.
            mock.clock().advance(java.time.Duration.ofDays(31))
            val later = mock.report(mock.demo().campaignId).totals
            assertEquals(1L, later.rewardsExpired)
            assertEquals(later.spend / 2, later.refunds)
        }
    }

    @Test
    fun `a receiver gets the deliveries and stops with its mock`() {
        val mock = MomentsMock.start()
        val hooks = mock.webhooks().receiver("reward.issued")
        assertTrue(hooks.endpointId.startsWith("whe_"), hooks.endpointId)
        rewardUrl(mock, "cust_3")
        mock.webhooks().deliverDue()
        val issued = mock.webhooks().deliveriesOf("reward.issued").single()
        assertTrue(issued.succeeded)
        assertTrue(hooks.received().single().contains(issued.eventId))

        mock.close()
        val port = java.net.URI(hooks.url).port
        assertThrows(ConnectException::class.java) { Socket("127.0.0.1", port).close() }
    }
}
