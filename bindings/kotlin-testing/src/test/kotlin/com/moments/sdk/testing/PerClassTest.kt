package com.moments.sdk.testing

import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.extension.ExtendWith

/** The extension's scopes: the constructor's mock serves the class, a test's own mock is fresh and stopped after it. */
@ExtendWith(MomentsMockExtension::class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PerClassTest(private val shared: MomentsMock) {
    private val own = mutableListOf<MomentsMock>()

    @Test
    fun first(mock: MomentsMock) = check(mock)

    @Test
    fun second(mock: MomentsMock) = check(mock)

    private fun check(mock: MomentsMock) {
        assertTrue(shared.isRunning)
        assertNotEquals(shared.baseUrl, mock.baseUrl)
        own.forEach { assertFalse(it.isRunning, "the previous test's mock was stopped after it") }
        own += mock
        // The class's mock keeps its state from one test to the next.
        shared.customerToken("cust_shared")
        assertEquals(own.size, shared.journal().count(Route.CREATE_CUSTOMER_TOKEN))
    }

    @AfterAll
    fun after() {
        assertEquals(2, own.map { it.baseUrl }.toSet().size)
        assertTrue(shared.isRunning, "the class's mock runs until the class ends")
    }
}
