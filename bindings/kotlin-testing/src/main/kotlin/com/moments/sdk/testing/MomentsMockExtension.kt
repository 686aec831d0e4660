package com.moments.sdk.testing

import org.junit.jupiter.api.extension.AfterEachCallback
import org.junit.jupiter.api.extension.ExtensionContext
import org.junit.jupiter.api.extension.ParameterContext
import org.junit.jupiter.api.extension.ParameterResolver

/**
 * JUnit 5: a fresh [MomentsMock] for each test that asks for one as a parameter, stopped after the test; asked for
 * in the constructor or a `@BeforeAll` method, one mock for the whole class (with
 * `@TestInstance(Lifecycle.PER_CLASS)` for a constructor), stopped after the class. After each test the mock's
 * [mounted][Expectation.mount] expectations are checked ([MomentsMock.verify]).
 *
 * ```kotlin
 * @ExtendWith(MomentsMockExtension::class)
 * class CheckoutTest {
 *     @Test
 *     fun rewardIsShown(mock: MomentsMock) { … }
 * }
 * ```
 */
public class MomentsMockExtension : ParameterResolver, AfterEachCallback {
    /** Resolves parameters of type [MomentsMock]. */
    override fun supportsParameter(parameterContext: ParameterContext, extensionContext: ExtensionContext): Boolean =
        parameterContext.parameter.type == MomentsMock::class.java

    /** The test's mock (per test for a test or `@BeforeEach` method, per class otherwise), started on first use. */
    override fun resolveParameter(parameterContext: ParameterContext, extensionContext: ExtensionContext): Any {
        val perTest = extensionContext.testMethod.isPresent
        val context = if (perTest) extensionContext else classContext(extensionContext)
        return store(context).getOrComputeIfAbsent(KEY, { Resource(MomentsMock.start()) }, Resource::class.java).mock
    }

    /** Checks the mounted expectations of the mock this test used, if the test passed. */
    override fun afterEach(context: ExtensionContext) {
        if (context.executionException.isPresent) return
        val own = store(context).get(KEY, Resource::class.java)
        val shared = store(classContext(context)).get(KEY, Resource::class.java)
        (own ?: shared)?.mock?.verify()
    }

    /**
     * The store of this context alone: a store's lookups fall back to the enclosing contexts' stores, so each context
     * has a namespace of its own (a test's mock is never the class's).
     */
    private fun store(context: ExtensionContext): ExtensionContext.Store =
        context.getStore(ExtensionContext.Namespace.create(MomentsMockExtension::class.java, context.uniqueId))

    private fun classContext(context: ExtensionContext): ExtensionContext {
        var c = context
        while (c.testMethod.isPresent && c.parent.isPresent) c = c.parent.get()
        return c
    }

    /** Closed by JUnit when its context ends. */
    @Suppress("DEPRECATION")
    private class Resource(val mock: MomentsMock) : ExtensionContext.Store.CloseableResource {
        override fun close() = mock.close()
    }

    private companion object {
        const val KEY = "mock"
    }
}
