package com.moments.sdk.testing

import com.sun.net.httpserver.HttpServer
import java.net.InetSocketAddress
import java.util.concurrent.CopyOnWriteArrayList

/**
 * A webhook endpoint of the demo app served in the test's process ([Webhooks.receiver]): it answers every delivery
 * 200 and keeps its body. [close] stops it; a [MomentsMock] stops its receivers when it closes.
 *
 * @property url the endpoint's URL (`http://127.0.0.1:PORT/hooks`).
 * @property endpointId the endpoint's id (`whe_…`), once registered.
 */
public class WebhookReceiver internal constructor() : AutoCloseable {
    private val bodies = CopyOnWriteArrayList<String>()
    private val server: HttpServer = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
        createContext("/hooks") { exchange ->
            exchange.use {
                bodies += it.requestBody.readAllBytes().decodeToString()
                it.sendResponseHeaders(200, -1)
            }
        }
        start()
    }

    public val url: String = "http://127.0.0.1:${server.address.port}/hooks"

    public var endpointId: String = ""
        internal set

    /** The bodies of the deliveries received so far (the signed events' JSON), oldest first. */
    public fun received(): List<String> = bodies.toList()

    /** Stops the receiver. Idempotent. */
    override fun close() {
        server.stop(0)
    }
}
