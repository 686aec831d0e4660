package com.moments.sdk.testing

/**
 * What [Control.redeem] answered: the reward's redemption as the landing page shows it.
 *
 * @property rewardId the reward.
 * @property status its status after the redemption (`redeemed`).
 * @property redeemedItemId the chosen item.
 * @property digitalCode the code of a digital item or credit (null for a physical item).
 */
public data class Redemption(
    public val rewardId: String,
    public val status: String,
    public val redeemedItemId: String?,
    public val digitalCode: String?,
)

/**
 * The counts of a [Report].
 *
 * @property actions accepted actions.
 * @property rewardsIssued rewards issued.
 * @property rewardsRedeemed rewards redeemed.
 * @property rewardsExpired rewards expired.
 * @property rewardsCancelled rewards cancelled.
 * @property spend what was charged, in minor units of the campaign's currency (cents).
 * @property rewardsFlagged rewards flagged for fraud review.
 * @property refunds what was refunded (expired, cancelled and blocked rewards), in minor units.
 */
public data class Metrics(
    public val actions: Long,
    public val rewardsIssued: Long,
    public val rewardsRedeemed: Long,
    public val rewardsExpired: Long,
    public val rewardsCancelled: Long,
    public val spend: Long,
    public val rewardsFlagged: Long,
    public val refunds: Long,
)

/**
 * What [Control.report] answered.
 *
 * @property campaignId the campaign.
 * @property totals its counts.
 * @property remainingBudget the budget left this month, in minor units.
 */
public data class Report(public val campaignId: String?, public val totals: Metrics, public val remainingBudget: Long)

/** The shipping address [Control.redeem] gives for a physical item: name, line 1, city, postal code, country. */
internal val TEST_ADDRESS: List<String> = listOf("Ada Lovelace", "1 Main St", "Seattle", "98101", "US")

/** The token of a reward link (`…/r/{token}`), or [MockException.Invalid] naming `reward_url`. */
internal fun linkToken(rewardUrl: String): String {
    val token = rewardUrl.substringAfterLast("/r/", "").substringBefore('?').substringBefore('#')
    if (!rewardUrl.contains("/r/") || token.isEmpty() || token.contains('/')) {
        throw MockException.Invalid("reward_url", "not a reward link: $rewardUrl")
    }
    return token
}

internal fun redemption(o: Obj): Redemption {
    @Suppress("UNCHECKED_CAST")
    val item = (o.map["redeemed_item"] as? Map<String, Any?>)?.let(::Obj)
    return Redemption(o.str("reward_id"), o.str("status"), item?.str("item_id"), o.strOrNull("digital_code"))
}

internal fun report(o: Obj): Report {
    @Suppress("UNCHECKED_CAST")
    fun obj(k: String) = Obj(o.map[k] as? Map<String, Any?> ?: throw MockException.Transport("missing `$k` in ${o.map}"))
    val t = obj("totals")
    @Suppress("UNCHECKED_CAST")
    val spend = Obj(t.map["spend"] as? Map<String, Any?> ?: emptyMap())
    @Suppress("UNCHECKED_CAST")
    val refunds = Obj(t.map["refunds"] as? Map<String, Any?> ?: emptyMap())
    val totals = Metrics(
        t.long("actions"), t.long("rewards_issued"), t.long("rewards_redeemed"), t.long("rewards_expired"),
        t.long("rewards_cancelled"), spend.long("amount"), t.long("rewards_flagged"), refunds.long("amount"),
    )
    return Report(o.strOrNull("campaign_id"), totals, obj("remaining_budget").long("amount"))
}
