package com.moments.sdk

import java.io.BufferedReader
import java.io.InputStreamReader
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.util.concurrent.TimeUnit

/**
 * One mock server process per test: `$MOMENTS_MOCK_BIN --port 0`, URL read from its first stdout line
 * (`listening on http://127.0.0.1:PORT`). Or, with MOMENTS_MOCK_URL set, an already running one.
 */
class MockServer private constructor(private val process: Process?, val baseUrl: String) : AutoCloseable {
    private val http: HttpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    /** The demo fixture (`GET /_mock/demo`). */
    val demo: Map<String, String> by lazy { stringFields(get("/_mock/demo").body()) }
    val campaignId: String get() = demo.getValue("campaign_id")
    val secretKey: String get() = demo.getValue("secret_key")

    fun get(path: String): HttpResponse<String> = send(HttpRequest.newBuilder(URI.create(baseUrl + path)).GET())

    fun getAbsolute(url: String): HttpResponse<String> = send(HttpRequest.newBuilder(URI.create(url)).GET())

    fun post(path: String, json: String, bearer: String? = null): HttpResponse<String> {
        val builder = HttpRequest.newBuilder(URI.create(baseUrl + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
        if (bearer != null) builder.header("Authorization", "Bearer $bearer")
        return send(builder)
    }

    /** Mints a customer token the way the app's backend would (`POST /v1/customer_tokens` with the secret key). */
    fun mintToken(customerId: String, ttlSeconds: Int? = null): CustomerToken {
        val ttl = if (ttlSeconds != null) ""","ttl_seconds":$ttlSeconds""" else ""
        val response = post(
            "/v1/customer_tokens",
            """{"customer_id":"$customerId","marketplace":"US"$ttl}""",
            bearer = secretKey,
        )
        check(response.statusCode() == 201) { "minting a token failed: ${response.statusCode()} ${response.body()}" }
        val fields = stringFields(response.body())
        val expires = Regex("\"expires_in_seconds\"\\s*:\\s*(\\d+)").find(response.body())!!.groupValues[1]
        return CustomerToken(fields.getValue("token"), expires.toLong())
    }

    fun delete(path: String): HttpResponse<String> = send(HttpRequest.newBuilder(URI.create(baseUrl + path)).DELETE())

    /** Makes the next `count` requests of `route` fail (`action`: `reset` closes the connection unanswered). */
    fun injectFault(route: String, count: Int, action: String) {
        val response = post("/_mock/faults", """{"route":"$route","count":$count,"action":"$action"}""")
        check(response.statusCode() in 200..299) { "injecting a fault failed: ${response.statusCode()} ${response.body()}" }
    }

    /** Clears every injected fault. */
    fun clearFaults() {
        val response = delete("/_mock/faults")
        check(response.statusCode() in 200..299) { "clearing faults failed: ${response.statusCode()} ${response.body()}" }
    }

    /** Moves the mock's virtual clock forward. */
    fun advanceClock(seconds: Long) {
        val response = post("/_mock/clock/advance", """{"seconds":$seconds}""")
        check(response.statusCode() == 200) { "advancing the clock failed: ${response.body()}" }
    }

    private fun send(builder: HttpRequest.Builder): HttpResponse<String> =
        http.send(builder.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString())

    override fun close() {
        // Forcibly: a graceful stop would wait for the SDK's idle keep-alive connections.
        process?.destroyForcibly()
        process?.waitFor(10, TimeUnit.SECONDS)
    }

    companion object {
        fun start(): MockServer {
            System.getenv("MOMENTS_MOCK_URL")?.let { return MockServer(null, it.trimEnd('/')) }
            val bin = System.getenv("MOMENTS_MOCK_BIN") ?: System.getProperty("moments.mock.bin")
                ?: error("set MOMENTS_MOCK_BIN to the moments-mock-server binary (cargo xtask kotlin-test does)")
            val process = ProcessBuilder(bin, "--port", "0").redirectErrorStream(true).start()
            val reader = BufferedReader(InputStreamReader(process.inputStream))
            var url: String? = null
            val seen = StringBuilder()
            while (url == null) {
                val line = reader.readLine() ?: break
                seen.appendLine(line)
                url = Regex("listening on (http://\\S+)").find(line)?.groupValues?.get(1)
            }
            if (url == null) {
                process.destroy()
                error("the mock server did not print its URL:\n$seen")
            }
            // Keep draining its output so it never blocks on a full pipe.
            Thread { reader.useLines { lines -> lines.forEach { } } }.apply { isDaemon = true }.start()
            return MockServer(process, url.trimEnd('/'))
        }

        /** Top-level string fields of a flat JSON object (enough for the few answers the tests read). */
        fun stringFields(json: String): Map<String, String> =
            Regex("\"([A-Za-z0-9_]+)\"\\s*:\\s*\"([^\"]*)\"").findAll(json)
                .associate { it.groupValues[1] to it.groupValues[2] }
    }
}
