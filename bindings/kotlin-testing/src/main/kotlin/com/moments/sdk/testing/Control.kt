package com.moments.sdk.testing

import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.time.Instant

/** Test or live mode (`/_mock/mode`). */
public enum class Mode {
    /** Every trigger answers a test reward (`"test": true`), whatever the campaign's status. */
    TEST,

    /** Triggers need a live campaign (or an approved one, which answers test rewards). */
    LIVE,
}

/**
 * A moment of the demo campaign.
 *
 * @property id the moment id (`first_workout`).
 * @property name its display name, if any.
 * @property clientReportable whether an app may report it with a customer token (else only a secret key may).
 */
public data class DemoMoment(public val id: String, public val name: String?, public val clientReportable: Boolean)

/**
 * The demo fixture every mock starts with: an app with its keys and a live campaign.
 *
 * @property appId the demo app (`app_demo_fitness`).
 * @property accountId its account.
 * @property secretKey the app's secret key (`sk_test_…`): what an app's backend mints customer tokens with.
 * @property apiKey the legacy `x-api-key`.
 * @property campaignId the live demo campaign (`cmp_demo_workouts`).
 * @property moments its moments.
 * @property baseUrl the mock's base URL.
 */
public data class Demo(
    public val appId: String,
    public val accountId: String,
    public val secretKey: String,
    public val apiKey: String,
    public val campaignId: String,
    public val moments: List<DemoMoment>,
    public val baseUrl: String,
)

/**
 * An app made by [Control.newApp] or a fixtures load, with its credentials.
 *
 * @property appId the app.
 * @property accountId its account.
 * @property secretKey its secret key.
 * @property apiKey its legacy key.
 */
public data class MockApp(
    public val appId: String,
    public val accountId: String,
    public val secretKey: String,
    public val apiKey: String,
)

/**
 * A customer token minted by [Control.customerToken], as an app's backend would hand it to the app.
 *
 * @property token the bearer token.
 * @property expiresInSeconds its lifetime from now.
 */
public data class MockCustomerToken(public val token: String, public val expiresInSeconds: Long)

/**
 * One HTTP client for every [Control] of the process: a JDK client starts a selector thread that lives until the
 * client is collected, so a client per mock would cost each test that thread's start and leave it behind. HTTP/1.1:
 * the mock speaks it, and no upgrade is tried. Connections to a stopped mock are dropped from its pool when the
 * mock closes them.
 */
private val sharedHttp: HttpClient =
    HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build()

/**
 * A client of a mock's control API (`/_mock/…`), over HTTP: the same calls as the Rust kit's
 * `moments_mock_server::testing::Control`. [MomentsMock] is one for the mock it started; [connect] reaches a mock
 * running elsewhere (the binary, a container). The calls block and are safe from any thread.
 *
 * @property baseUrl the mock's base URL (`http://127.0.0.1:PORT`).
 */
public open class Control protected constructor(baseUrl: String) {
    public val baseUrl: String = baseUrl.trimEnd('/')

    private val http: HttpClient get() = sharedHttp

    /** What stops with the mock ([WebhookReceiver]s). */
    internal val resources: MutableList<AutoCloseable> = java.util.concurrent.CopyOnWriteArrayList()

    /** Back to the start state: the seeded demo and catalog, no faults, an empty journal and delivery log, real time. */
    public fun reset() {
        post("/_mock/reset", emptyMap<String, Any?>())
    }

    /** The demo fixture (`GET /_mock/demo`). */
    public fun demo(): Demo {
        val o = get("/_mock/demo")
        return Demo(
            appId = o.str("app_id"),
            accountId = o.str("account_id"),
            secretKey = o.str("secret_key"),
            apiKey = o.str("api_key"),
            campaignId = o.str("campaign_id"),
            moments = o.objs("moments").map { DemoMoment(it.str("id"), it.strOrNull("name"), it.bool("client_reportable")) },
            baseUrl = o.str("base_url"),
        )
    }

    /** A new app (in a new account) with a secret key and a legacy key. */
    public fun newApp(name: String): MockApp = mockApp(post("/_mock/apps", mapOf("name" to name)))

    /** The virtual clock. */
    public fun clock(): Clock = Clock(this)

    /** The mode (test or live). */
    public fun mode(): Mode = Mode.valueOf(get("/_mock/mode").str("mode").uppercase())

    /** Sets the mode. */
    public fun setMode(mode: Mode) {
        post("/_mock/mode", mapOf("mode" to mode.name.lowercase()))
    }

    /** Injected faults. */
    public fun faults(): Faults = Faults(this)

    /** The request journal and expectations on it. */
    public fun journal(): Journal = Journal(this)

    /** The webhook delivery log. */
    public fun webhooks(): Webhooks = Webhooks(this)

    /**
     * Loads fixtures (reading the mock's clock first, to place campaign dates around it). The mock checks them as
     * `POST /v1/campaigns` would: an invalid one is [MockException.Api] whose [MockException.field] names it
     * (`campaigns[0].campaign.budget.amount`); loading stops there and the entries before it stay loaded.
     */
    public fun load(fixtures: Fixtures): Loaded {
        val now = clock().now()
        val o = post("/_mock/fixtures", fixtures.toJson(now))
        return Loaded(o.objs("apps").map(::mockApp), o.strings("items"), o.strings("campaigns"))
    }

    /** Loads one campaign and returns its id (`cmp_…`). */
    public fun loadCampaign(campaign: CampaignFixture): String =
        load(Fixtures().withCampaign(campaign)).campaigns.lastOrNull()
            ?: throw MockException.Transport("the fixtures answer lists no campaign")

    /**
     * Mints a customer token for [customerId] with the demo app's secret key (`POST /v1/customer_tokens`), as the
     * app's backend would: what an SDK client's token provider returns in a test.
     */
    @JvmOverloads
    public fun customerToken(customerId: String, marketplace: String = "US", ttlSeconds: Long? = null): MockCustomerToken {
        val body = linkedMapOf<String, Any?>("customer_id" to customerId, "marketplace" to marketplace)
        if (ttlSeconds != null) body["ttl_seconds"] = ttlSeconds
        val o = call("POST", "/v1/customer_tokens", body, bearer = demo().secretKey)
        return MockCustomerToken(o.str("token"), o.long("expires_in_seconds"))
    }

    /**
     * Redeems a reward link for [itemId] as the customer's browser would: reads the link's redemption
     * (`GET /v1/redemptions/{token}`) and posts the choice, with a test address (Ada Lovelace, 1 Main St, Seattle 98101, US) when the item is shipped.
     *
     * @throws MockException.Invalid naming `reward_url` for a value that is not a reward link.
     * @throws MockException.Api naming `item_id` for an item the reward does not offer.
     */
    public fun redeem(rewardUrl: String, itemId: String): Redemption {
        val path = "/v1/redemptions/" + linkToken(rewardUrl)
        val shipped = get(path).objs("choices").any { it.str("item_id") == itemId && it.str("kind") == "physical" }
        val body = linkedMapOf<String, Any?>("item_id" to itemId)
        if (shipped) {
            val (name, line1, city, postalCode, country) = TEST_ADDRESS
            body["shipping_address"] =
                mapOf("name" to name, "line1" to line1, "city" to city, "postal_code" to postalCode, "country" to country)
        }
        return redemption(post(path, body))
    }

    /**
     * The report of one campaign of the demo app over its whole life (`GET /v1/reports`, read with the app's secret
     * key, as the app's backend would): actions, rewards issued and redeemed, spend.
     */
    public fun report(campaignId: String): Report =
        report(call("GET", "/v1/reports?" + query("campaign_id", campaignId), null, bearer = demo().secretKey))

    private fun mockApp(o: Obj) = MockApp(o.str("app_id"), o.str("account_id"), o.str("secret_key"), o.str("api_key"))

    internal fun get(path: String): Obj = call("GET", path, null)

    internal fun post(path: String, body: Any?): Obj = call("POST", path, body)

    internal fun delete(path: String): Obj = call("DELETE", path, null)

    internal fun query(name: String, value: String): String = "$name=" + URLEncoder.encode(value, Charsets.UTF_8)

    /** One call: the JSON answer, or the mock's error envelope as [MockException.Api]. */
    internal fun call(method: String, path: String, body: Any?, bearer: String? = null): Obj {
        val builder = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30))
        if (bearer != null) builder.header("Authorization", "Bearer $bearer")
        if (body != null) {
            builder.header("Content-Type", "application/json")
            builder.method(method, HttpRequest.BodyPublishers.ofString(Json.write(body)))
        } else {
            builder.method(method, HttpRequest.BodyPublishers.noBody())
        }
        val response = try {
            http.send(builder.build(), HttpResponse.BodyHandlers.ofString())
        } catch (e: java.io.IOException) {
            throw MockException.Transport("$method $path: $e", e)
        }
        val text = response.body()
        val status = response.statusCode()
        val parsed = try {
            if (text.isBlank()) Obj(emptyMap()) else Obj.parse(text)
        } catch (e: IllegalArgumentException) {
            throw MockException.Transport("unexpected answer to $method $path (HTTP $status): $text", e)
        }
        if (status in 200..299) return parsed
        val error = (parsed.map["error"] as? Map<*, *>)?.let { e -> Obj(e.entries.associate { it.key.toString() to it.value }) }
            ?: throw MockException.Transport("HTTP $status to $method $path: $text")
        throw MockException.Api(
            status, error.str("code"), error.strOrNull("message") ?: "", error.strOrNull("param"),
            error.strOrNull("request_id") ?: "",
        )
    }

    /** Connecting to a mock that runs elsewhere. */
    public companion object {
        /** A client of the mock at [baseUrl] (`http://127.0.0.1:8080`; a trailing `/` is dropped). */
        @JvmStatic
        public fun connect(baseUrl: String): Control = Control(baseUrl)
    }
}

/**
 * What a fixtures load created, in the order given.
 *
 * @property apps the apps, with their credentials.
 * @property items the item ids.
 * @property campaigns the campaign ids.
 */
public data class Loaded(public val apps: List<MockApp>, public val items: List<String>, public val campaigns: List<String>)

/**
 * The virtual clock state.
 *
 * @property now the server's time.
 * @property frozen whether the clock is frozen.
 * @property offsetSeconds its offset from real time.
 */
public data class ClockView(public val now: Instant, public val frozen: Boolean, public val offsetSeconds: Long)

/**
 * The mock's virtual clock: real time plus an offset, or frozen. Every time rule of the mock reads it; moving it runs
 * the rules that became due, in time order, before the call returns.
 */
public class Clock internal constructor(private val control: Control) {
    /** The server's time. */
    public fun now(): Instant = state().now

    /** The time, whether the clock is frozen, and its offset from real time. */
    public fun state(): ClockView = view(control.get("/_mock/clock"))

    /**
     * Moves time forward by [by], running every rule that became due and delivering due webhooks before it returns.
     *
     * @throws MockException.Invalid naming `seconds` for a negative duration or one with a fraction of a second.
     */
    public fun advance(by: Duration): ClockView {
        if (by.isNegative) throw MockException.Invalid("seconds", "the clock moves forward, not by $by")
        if (by.nano != 0) throw MockException.Invalid("seconds", "the mock's clock moves in whole seconds, not $by")
        return view(control.post("/_mock/clock/advance", mapOf("seconds" to by.seconds)))
    }

    /** Sets the time (not backwards: the mock answers `validation_error` naming `now`) and lets the clock run. */
    public fun set(to: Instant): ClockView = send(to, false)

    /** Freezes the clock where it is. */
    public fun freeze(): ClockView = send(null, true)

    /** Sets the time (not backwards) and freezes it there. */
    public fun freezeAt(at: Instant): ClockView = send(at, true)

    /** Lets a frozen clock run again from where it stands. */
    public fun unfreeze(): ClockView = send(null, false)

    private fun send(now: Instant?, frozen: Boolean): ClockView {
        val body = linkedMapOf<String, Any?>("frozen" to frozen)
        if (now != null) body["now"] = now.toString()
        return view(control.post("/_mock/clock/set", body))
    }

    private fun view(o: Obj) = ClockView(o.instant("now"), o.bool("frozen"), o.longOrNull("offset_seconds") ?: 0)
}

/** The webhook delivery log: every attempt the mock made to deliver an event, oldest first. */
public class Webhooks internal constructor(private val control: Control) {
    /** Every delivery attempt, oldest first. */
    public fun deliveries(): List<Delivery> = control.get("/_mock/webhooks/deliveries").objs("data").map(::delivery)

    /** The attempts for events of one type (`reward.issued`, `reward.redeemed`, …), oldest first. */
    public fun deliveriesOf(eventType: String): List<Delivery> =
        control.get("/_mock/webhooks/deliveries?" + control.query("event_type", eventType)).objs("data").map(::delivery)

    /**
     * A webhook endpoint of the demo app (`POST /v1/webhook_endpoints` with its secret key, as the app's backend
     * would) for the given event types (none: every type), whose URL is a [WebhookReceiver] started in the test's
     * process on a free port: the mock's deliveries to it succeed (answered 200). [MomentsMock.close] stops it.
     */
    public fun receiver(vararg events: String): WebhookReceiver {
        val receiver = WebhookReceiver()
        try {
            val body = mapOf("url" to receiver.url, "events" to events.toList())
            receiver.endpointId = control.call("POST", "/v1/webhook_endpoints", body, bearer = control.demo().secretKey).str("id")
        } catch (e: RuntimeException) {
            receiver.close()
            throw e
        }
        control.resources += receiver
        return receiver
    }

    /** Delivers every webhook due now and returns once their attempts are in the log. */
    public fun deliverDue() {
        control.clock().advance(Duration.ZERO)
    }

    private fun delivery(o: Obj) = Delivery(
        o.str("event_id"), o.str("event_type"), o.str("endpoint_id"), o.str("url"), o.long("attempt").toInt(),
        o.longOrNull("status")?.toInt(), o.bool("succeeded"), o.strOrNull("error"), o.instant("at"),
        o.instantOrNull("next_retry_at"),
    )
}

/**
 * One webhook delivery attempt.
 *
 * @property eventId the event.
 * @property eventType its type (`reward.issued`, …).
 * @property endpointId the endpoint.
 * @property url the endpoint's URL.
 * @property attempt the attempt number (1–7).
 * @property status the HTTP status answered, if any.
 * @property succeeded whether it succeeded (2xx).
 * @property error the connection or status error.
 * @property at when (server clock).
 * @property nextRetryAt the next retry, if any.
 */
public data class Delivery(
    public val eventId: String,
    public val eventType: String,
    public val endpointId: String,
    public val url: String,
    public val attempt: Int,
    public val status: Int?,
    public val succeeded: Boolean,
    public val error: String?,
    public val at: Instant,
    public val nextRetryAt: Instant?,
)
