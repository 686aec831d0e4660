package com.moments.sdk.testing

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.ClassRule
import org.junit.Rule
import org.junit.Test

/** JUnit 4 (run by the vintage engine): a fresh mock per test from the rule, one per class from the class rule. */
class RuleTest {
    @get:Rule
    val server = MomentsMockRule()

    @Test
    fun `the rule gives each test a fresh running mock`() {
        val mock = server.mock
        assertTrue(mock.isRunning)
        assertEquals(0, mock.journal().count(Route.TRIGGER))
        mock.setMode(Mode.TEST)
        assertTrue(mock.baseUrl != shared.mock.baseUrl)
        // The class's mock is another one, with its own state.
        assertEquals(Mode.LIVE, shared.mock.mode())
    }

    @Test
    fun `another test starts from the demo state`() {
        assertEquals(Mode.LIVE, server.mock.mode())
        server.mock.journal().expect(Route.GET_APP).never().mount(server.mock)
    }

    companion object {
        @JvmField
        @ClassRule
        val shared = MomentsMockRule()
    }
}
