// JVM unit tests of the demo's model: the real SDK against a fresh mock per test (the testing kit's JUnit 4 rule).
package com.example.momentsdemo

import com.moments.sdk.ClientConfig
import com.moments.sdk.CustomerToken
import com.moments.sdk.DeviceInfo
import com.moments.sdk.DeviceType
import com.moments.sdk.MomentsClient
import com.moments.sdk.tokenProvider
import com.moments.sdk.testing.Fault
import com.moments.sdk.testing.Fixtures
import com.moments.sdk.testing.MomentsMock
import com.moments.sdk.testing.MomentsMockRule
import com.moments.sdk.testing.Route
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test

class RewardsModelTest {
    @get:Rule
    val server = MomentsMockRule()

    private val clients = mutableListOf<MomentsClient>()

    /** The SDK client of customer `cust_42`, its token minted through the mock as the app's backend would. */
    private fun client(mock: MomentsMock, maxRetries: Int = 2): MomentsClient {
        val tokens = tokenProvider { mock.customerToken("cust_42").let { CustomerToken(it.token, it.expiresInSeconds) } }
        val device = DeviceInfo(DeviceType.ANDROID, "device-1")
        return MomentsClient(ClientConfig(baseUrl = mock.baseUrl, device = device, maxRetries = maxRetries), tokens)
            .also { clients += it }
    }

    @After
    fun closeClients() = clients.forEach { it.close() }

    @Test
    fun `load shows the announcement and no rewards yet`() = runBlocking {
        val mock = server.mock
        val campaign = mock.loadCampaign(Fixtures.campaign().announcement("Run today, win a reward"))
        val model = RewardsModel(client(mock), campaign)

        model.load()

        assertEquals("Run today, win a reward", model.announcement)
        assertEquals(emptyList<String>(), model.rewards)
    }

    @Test
    fun `a report opens the reward's link and lists the reward, a second one is capped`() = runBlocking {
        val mock = server.mock
        val model = RewardsModel(client(mock), mock.loadCampaign(Fixtures.campaign()))

        val first = model.report()
        assertTrue("$first", first is ReportResult.Rewarded && "/r/" in first.url)
        assertEquals(listOf("first_workout: Issued"), model.rewards)

        // One reward per customer for the campaign's life (the fixture's default cap).
        assertEquals(ReportResult.Failed("You already got this reward."), model.report())
        mock.journal().expect(Route.TRIGGER).times(2).verify()
    }

    @Test
    fun `a goal moment reports progress`() = runBlocking {
        val mock = server.mock
        val campaign = mock.loadCampaign(
            Fixtures.campaign().moment("five_workouts").goal(5, java.time.Duration.ofDays(30)),
        )
        val model = RewardsModel(client(mock), campaign, momentId = "five_workouts")

        assertEquals(ReportResult.Progress("1 of 5"), model.report())
        assertEquals(emptyList<String>(), model.rewards)
    }

    @Test
    fun `a campaign that is not live, and an outage, read as the customer's messages`() = runBlocking {
        val mock = server.mock
        val draft = RewardsModel(client(mock), mock.loadCampaign(Fixtures.campaign().draft()))
        assertEquals(ReportResult.Failed("This challenge is over."), draft.report())

        // No retry here, so the one 503 is the answer.
        val live = RewardsModel(client(mock, maxRetries = 0), mock.loadCampaign(Fixtures.campaign()))
        mock.faults().inject(Fault.on(Route.TRIGGER).status(503))
        assertEquals(ReportResult.Failed("No connection, try again in a moment."), live.report())
    }
}
