package com.moments.sdk.testing

import org.junit.rules.TestRule
import org.junit.runner.Description
import org.junit.runners.model.Statement

/**
 * JUnit 4: a fresh [MomentsMock] for each test as a `@Rule`, or one for the class as a `@ClassRule`, stopped after
 * it. After a passing test the mock's [mounted][Expectation.mount] expectations are checked ([MomentsMock.verify]).
 *
 * ```kotlin
 * class CheckoutTest {
 *     @get:Rule val server = MomentsMockRule()
 *
 *     @Test fun rewardIsShown() { val mock = server.mock; … }
 * }
 * ```
 */
public class MomentsMockRule : TestRule {
    @Volatile
    private var current: MomentsMock? = null

    /** The running mock (inside a test, or inside the class for a `@ClassRule`). */
    public val mock: MomentsMock
        get() = current ?: throw IllegalStateException("the mock runs only inside the test the rule applies to")

    /** Starts a mock around [base] and stops it after. */
    override fun apply(base: Statement, description: Description): Statement = object : Statement() {
        override fun evaluate() {
            MomentsMock.start().use { mock ->
                current = mock
                try {
                    base.evaluate()
                    mock.verify()
                } finally {
                    current = null
                }
            }
        }
    }
}
