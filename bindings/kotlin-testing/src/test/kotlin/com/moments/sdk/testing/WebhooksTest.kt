package com.moments.sdk.testing

import com.moments.sdk.ActionOutcome
import com.moments.sdk.ClientConfig
import com.moments.sdk.CustomerToken
import com.moments.sdk.DeviceInfo
import com.moments.sdk.DeviceType
import com.moments.sdk.MomentsClient
import com.moments.sdk.tokenProvider
import com.sun.net.httpserver.HttpServer
import java.net.InetSocketAddress
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.ExtendWith

/** Webhook deliveries read through the kit, against a receiver in the test. */
@ExtendWith(MomentsMockExtension::class)
class WebhooksTest {
    @Test
    fun `a reward's webhook is delivered and logged`(mock: MomentsMock) = runBlocking {
        val received = CopyOnWriteArrayList<String>()
        val receiver = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
            createContext("/hooks") { exchange ->
                received += exchange.requestBody.readAllBytes().decodeToString()
                exchange.sendResponseHeaders(200, -1)
                exchange.close()
            }
            start()
        }
        try {
            val url = "http://127.0.0.1:${receiver.address.port}/hooks"
            mock.call("POST", "/v1/webhook_endpoints", mapOf("url" to url), bearer = mock.demo().secretKey)

            val tokens = tokenProvider { mock.customerToken("cust_hooks").let { CustomerToken(it.token, it.expiresInSeconds) } }
            MomentsClient(ClientConfig(baseUrl = mock.baseUrl, device = DeviceInfo(DeviceType.ANDROID)), tokens).use { client ->
                val outcome = client.reportAction(mock.demo().campaignId, "first_workout")
                assertTrue(outcome is ActionOutcome.Rewarded)
            }
            mock.webhooks().deliverDue()

            val issued = mock.webhooks().deliveriesOf("reward.issued")
            assertEquals(1, issued.size, "$issued")
            assertEquals(url, issued.single().url)
            assertEquals(200, issued.single().status)
            assertTrue(issued.single().succeeded)
            assertTrue(received.any { it.contains(issued.single().eventId) }, "the receiver got the event")
            assertTrue(mock.webhooks().deliveries().containsAll(issued))
        } finally {
            receiver.stop(0)
        }
    }
}
