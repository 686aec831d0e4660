package com.moments.sdk.testing

import java.net.ConnectException
import java.net.Socket
import java.net.URI
import java.time.Duration
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.extension.ExtendWith

/** The control API through the kit, against a mock the extension starts per test. */
@ExtendWith(MomentsMockExtension::class)
class ControlTest {
    @Test
    fun `clock, mode, faults, journal and reset do what the mock says`(mock: MomentsMock) {
        assertEquals("cmp_demo_workouts", mock.demo().campaignId)
        assertTrue(mock.demo().moments.any { it.id == "level_5" && !it.clientReportable })

        val frozen = mock.clock().freeze()
        assertTrue(frozen.frozen)
        val later = mock.clock().advance(Duration.ofHours(2))
        assertEquals(frozen.now.plus(Duration.ofHours(2)), later.now)

        assertEquals(Mode.LIVE, mock.mode())
        mock.setMode(Mode.TEST)
        assertEquals(Mode.TEST, mock.mode())

        mock.faults().inject(Fault.on(Route.TRIGGER).status(503).times(2))
        assertEquals(listOf(Route.TRIGGER), mock.faults().list().map { it.route })
        assertEquals(2, mock.faults().list().single().remaining)
        val answered = (URI.create(mock.baseUrl + "/v1/triggers").toURL().openConnection() as java.net.HttpURLConnection)
            .apply {
                requestMethod = "POST"
                doOutput = true
                setRequestProperty("Content-Type", "application/json")
                outputStream.use { it.write("{}".toByteArray()) }
            }.responseCode
        assertEquals(503, answered, "the fault answers before the request is handled")
        assertEquals(1, mock.faults().list().single().remaining)
        mock.journal().expect(Route.TRIGGER).once().withStatus(503).verify()

        val unmet = assertThrows<UnmetExpectation> { mock.journal().expect(Route.GET_REWARD).atLeast(1).verify() }
        assertTrue(unmet.message!!.startsWith("expected GET /v1/rewards/{id} at least 1 time, it was called 0 times"), unmet.message)
        assertEquals(1, unmet.others.size)

        mock.reset()
        assertEquals(Mode.LIVE, mock.mode())
        assertTrue(mock.faults().list().isEmpty())
        assertFalse(mock.clock().state().frozen)
        assertEquals(0, mock.journal().count(Route.TRIGGER))
    }

    @Test
    fun `bad input is a typed error naming the field`(mock: MomentsMock) {
        assertEquals("seconds", assertThrows<MockException.Invalid> { mock.clock().advance(Duration.ofSeconds(-1)) }.field)
        assertEquals("count", assertThrows<MockException.Invalid> { mock.faults().inject(Fault.on(Route.TRIGGER).status(503).times(0)) }.field)
        assertEquals("route", assertThrows<MockException.Invalid> { Route.of("FETCH /v1/triggers") }.field)
        val unknown = assertThrows<MockException.Api> { mock.faults().inject(Fault.on(Route.of("POST /v1/trigger")).status(503)) }
        assertEquals("route", unknown.field)
        assertEquals("validation_error", unknown.code)
        val budget = assertThrows<MockException.Api> { mock.loadCampaign(Fixtures.campaign().budgetUsd(1)) }
        assertTrue(budget.field!!.startsWith("campaigns[0].campaign.budget"), budget.message)
    }

    @Test
    fun `fixtures load apps, items and campaigns, and a mounted expectation is checked on verify`(mock: MomentsMock) {
        val other = Fixtures.app("Other brand")
        val loaded = mock.load(
            Fixtures()
                .withItem(Fixtures.item("itm_sticker").price("US", 250).stock("US", 3))
                .withApp(other)
                .withCampaign(Fixtures.campaign().approved().owner(other).items("itm_sticker")),
        )
        assertEquals(listOf(other.id), loaded.apps.map { it.appId })
        assertTrue(loaded.apps.single().secretKey.startsWith("sk_test_"))
        assertEquals(listOf("itm_sticker"), loaded.items)
        assertTrue(loaded.campaigns.single().startsWith("cmp_"))

        mock.journal().expect(Route.CREATE_CUSTOMER_TOKEN).once().mount(mock)
        assertThrows<UnmetExpectation> { mock.verify() }
        mock.customerToken("cust_1")
        mock.verify()
    }

    @Test
    fun `mocks are independent, and a stopped one frees its port`() {
        val a = MomentsMock.start()
        val b = MomentsMock.start()
        assertNotEquals(a.baseUrl, b.baseUrl)
        a.setMode(Mode.TEST)
        assertEquals(Mode.LIVE, b.mode())
        // A control client for a mock started elsewhere sees the same state.
        assertEquals(Mode.TEST, Control.connect(a.baseUrl + "/").mode())
        val port = URI.create(a.baseUrl).port
        a.close()
        a.close()
        assertFalse(a.isRunning)
        assertThrows<ConnectException> { Socket("127.0.0.1", port).close() }
        assertEquals(Mode.LIVE, b.mode())
        b.close()
    }
}
