// What the demo's screen shows, in plain Kotlin (no Android class): the activity renders it, and JVM unit tests
// drive it against the mock (app/src/test).
package com.example.momentsdemo

import com.moments.sdk.ActionOutcome
import com.moments.sdk.ErrorCode
import com.moments.sdk.MomentsClient
import com.moments.sdk.MomentsException
import com.moments.sdk.Reward

/** What reporting the workout came to: a reward link to open, progress toward a goal, or a message for the customer. */
sealed interface ReportResult {
    /** A reward was issued: show and open [url]. */
    data class Rewarded(val url: String) : ReportResult

    /** A goal moment counted the action: [text] says how far along the customer is. */
    data class Progress(val text: String) : ReportResult

    /** The report failed: [text] is what the customer reads. */
    data class Failed(val text: String) : ReportResult
}

/** The demo's state: the campaign's announcement, the customer's rewards, and reporting a moment of [campaignId]. */
class RewardsModel(
    private val client: MomentsClient,
    private val campaignId: String,
    private val momentId: String = "first_workout",
) {
    /** The campaign's announcement for the moment, once [load] has read it. */
    var announcement: String? = null
        private set

    /** One row per reward of the customer (`first_workout: Issued`), newest first, once [load] or [report] ran. */
    var rewards: List<String> = emptyList()
        private set

    /** Reads the announcement and the customer's rewards; a failure leaves what was there. */
    suspend fun load() {
        runCatching { client.rewardInfo(campaignId, momentId) }.onSuccess { announcement = it.announcementMessage }
        refresh()
    }

    /** Reports the moment and says what came of it; the rewards are read again after a reward. */
    suspend fun report(): ReportResult {
        val result = try {
            when (val outcome = client.reportAction(campaignId, momentId)) {
                is ActionOutcome.Rewarded -> ReportResult.Rewarded(outcome.reward.url)
                is ActionOutcome.InProgress ->
                    ReportResult.Progress("${outcome.progress.current} of ${outcome.progress.target}")
            }
        } catch (e: MomentsException) {
            ReportResult.Failed(message(e))
        }
        if (result is ReportResult.Rewarded) refresh()
        return result
    }

    private suspend fun refresh() {
        runCatching { client.myRewards(campaignId) }
            .onSuccess { list -> rewards = list.sortedByDescending { it.createdAt }.map(::row) }
    }

    /** A reward as the list shows it. */
    private fun row(reward: Reward): String = "${reward.momentId}: ${reward.status}"

    /** What the customer reads for an error of the SDK. */
    fun message(e: MomentsException): String = when {
        e.code == ErrorCode.FREQUENCY_CAP_REACHED -> "You already got this reward."
        e.code == ErrorCode.CAMPAIGN_NOT_LIVE -> "This challenge is over."
        e.isRetryable -> "No connection, try again in a moment."
        else -> "Something went wrong (${e.code.wireName}, ${e.requestId})."
    }
}
