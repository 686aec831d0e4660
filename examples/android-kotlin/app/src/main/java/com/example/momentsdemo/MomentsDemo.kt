// A minimal Android integration of the Moments SDK: token provider, a button reporting a moment, the reward
// URL shown and opened, the customer's rewards listed. Plain Views to keep it short; what the screen shows is
// RewardsModel's (plain Kotlin, tested on the JVM against the mock).
package com.example.momentsdemo

import android.app.Activity
import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.util.Log
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.LinearLayout
import android.widget.ListView
import android.widget.TextView
import com.moments.sdk.ClientConfig
import com.moments.sdk.ClientStatus
import com.moments.sdk.CustomerToken
import com.moments.sdk.DeviceInfo
import com.moments.sdk.DeviceType
import com.moments.sdk.LogLevel
import com.moments.sdk.LogSink
import com.moments.sdk.Moments
import com.moments.sdk.MomentsClient
import com.moments.sdk.RewardEvent
import com.moments.sdk.TokenProvider
import java.net.HttpURLConnection
import java.net.URL
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.json.JSONObject

/** Where the example backend (examples/backend) runs; 10.0.2.2 is the host seen from the Android emulator. */
private const val BACKEND = "http://10.0.2.2:3000"
/** The Rewards API (here the mock: `cargo run -p moments-mock-server -- --port 8080`). */
private const val API = "http://10.0.2.2:8080"

/**
 * Fetches a customer token from the app's own backend (`POST /customer-token`), which mints it with the
 * secret key. The app never holds a secret key.
 */
class BackendTokenProvider(private val userId: String) : TokenProvider {
    override suspend fun fetchToken(): CustomerToken = withContext(Dispatchers.IO) {
        val connection = URL("$BACKEND/customer-token").openConnection() as HttpURLConnection
        try {
            connection.requestMethod = "POST"
            connection.setRequestProperty("x-user-id", userId) // a real app sends its session instead
            check(connection.responseCode == 200) { "backend answered ${connection.responseCode}" }
            val json = JSONObject(connection.inputStream.bufferedReader().readText())
            CustomerToken(json.getString("token"), json.getLong("expires_in_seconds"))
        } finally {
            connection.disconnect()
        }
    }
}

class MainActivity : Activity() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Main)
    private lateinit var client: MomentsClient
    private lateinit var model: RewardsModel
    private val campaignId by lazy { intent.getStringExtra("campaign_id") ?: "cmp_demo_workouts" }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        Moments.setLogSink(LogSink { Log.println(Log.INFO, "Moments", "${it.target}: ${it.line}") }, LogLevel.INFO)
        client = MomentsClient(
            ClientConfig(baseUrl = API, device = DeviceInfo(DeviceType.ANDROID, deviceId = installationId())),
            BackendTokenProvider(userId = "cust_42"),
        )
        model = RewardsModel(client, campaignId)

        val status = TextView(this)
        val rewardUrl = TextView(this)
        val rewards = ArrayAdapter<String>(this, android.R.layout.simple_list_item_1)
        val report = Button(this).apply { text = "I finished my first workout" }
        setContentView(LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            addView(status); addView(report); addView(rewardUrl); addView(ListView(context).apply { adapter = rewards })
        })

        // The rewards list follows the SDK's state: a snapshot first, then every change (collected on the main
        // thread; the collection stops with the scope).
        scope.launch {
            client.rewardEvents().collect { event ->
                when (event) {
                    is RewardEvent.Snapshot -> rewards.replaceWith(event.rewards.map { "${it.momentId}: ${it.status}" })
                    is RewardEvent.RewardsRefreshed ->
                        rewards.replaceWith(event.rewards.map { "${it.momentId}: ${it.status}" })
                    is RewardEvent.RewardIssued -> rewards.insert("${event.reward.momentId}: ${event.reward.status}", 0)
                    is RewardEvent.ProgressUpdated -> Unit
                }
            }
        }
        // The connection status, as a StateFlow.
        scope.launch {
            client.status.collect {
                title = when (it) {
                    ClientStatus.Online -> "Moments: online"
                    is ClientStatus.Offline -> "Moments: offline"
                    is ClientStatus.Unauthenticated -> "Moments: signed out"
                    ClientStatus.Idle -> "Moments"
                }
            }
        }

        scope.launch {
            model.load()
            status.text = model.announcement.orEmpty()
        }

        report.setOnClickListener {
            scope.launch {
                when (val result = model.report()) {
                    is ReportResult.Rewarded -> {
                        rewardUrl.text = result.url
                        startActivity(Intent(Intent.ACTION_VIEW, Uri.parse(result.url)))
                    }
                    is ReportResult.Progress -> rewardUrl.text = result.text
                    is ReportResult.Failed -> rewardUrl.text = result.text
                }
            }
        }
    }

    override fun onDestroy() {
        scope.cancel() // cancels calls in flight (the SDK drops their futures) and the collections
        client.close()
        super.onDestroy()
    }

    private fun installationId(): String =
        getSharedPreferences("moments", MODE_PRIVATE).let { prefs ->
            prefs.getString("install_id", null) ?: java.util.UUID.randomUUID().toString().also {
                prefs.edit().putString("install_id", it).apply()
            }
        }
}

private fun ArrayAdapter<String>.replaceWith(items: List<String>) {
    clear()
    addAll(items)
}
