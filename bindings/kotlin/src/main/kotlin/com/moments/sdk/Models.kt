package com.moments.sdk

import java.time.Instant
import com.moments.sdk.internal.ActionOutcome as FfiActionOutcome
import com.moments.sdk.internal.ClientConfig as FfiClientConfig
import com.moments.sdk.internal.ClientStatus as FfiClientStatus
import com.moments.sdk.internal.CustomerToken as FfiCustomerToken
import com.moments.sdk.internal.DeviceInfo as FfiDeviceInfo
import com.moments.sdk.internal.DeviceType as FfiDeviceType
import com.moments.sdk.internal.Goal as FfiGoal
import com.moments.sdk.internal.ItemKind as FfiItemKind
import com.moments.sdk.internal.OfferItem as FfiOfferItem
import com.moments.sdk.internal.Progress as FfiProgress
import com.moments.sdk.internal.Reward as FfiReward
import com.moments.sdk.internal.RewardEvent as FfiRewardEvent
import com.moments.sdk.internal.RewardInfo as FfiRewardInfo
import com.moments.sdk.internal.RewardStatus as FfiRewardStatus

/**
 * How the SDK reaches the Rewards API. Java: `new ClientConfig(baseUrl, device)` takes the defaults.
 *
 * @property baseUrl The API's base URL, e.g. `https://rewards.example.com` (the mock prints its own).
 * @property device The device this app runs on, sent with every reported action (fraud controls).
 * @property connectTimeoutMs Time allowed to open a connection, in milliseconds.
 * @property requestTimeoutMs Time allowed for one HTTP attempt, in milliseconds.
 * @property callTimeoutMs Time allowed for a whole call, retries included, in milliseconds.
 * @property maxRetries Retries of a failed call when retrying is safe (reads, and reported actions, which carry an
 *   idempotency key).
 * @property trustedCertificates Certificate authorities trusted on top of the device's trust store, each PEM (one or
 *   more `CERTIFICATE` blocks) or DER: for debug builds and tests against a server with a CA of its own. Empty (the
 *   default, and what a release build should use): the device's trust store alone. Bytes that are no certificate
 *   make the client's constructor throw [MomentsException.InvalidArgument].
 */
public data class ClientConfig @JvmOverloads constructor(
    public val baseUrl: String,
    public val device: DeviceInfo,
    public val connectTimeoutMs: Long = 10_000,
    public val requestTimeoutMs: Long = 30_000,
    public val callTimeoutMs: Long = 60_000,
    public val maxRetries: Int = 2,
    public val trustedCertificates: List<ByteArray> = emptyList(),
) {
    /** Equal when every field is, the certificates compared by content. */
    override fun equals(other: Any?): Boolean =
        other is ClientConfig && baseUrl == other.baseUrl && device == other.device &&
            connectTimeoutMs == other.connectTimeoutMs && requestTimeoutMs == other.requestTimeoutMs &&
            callTimeoutMs == other.callTimeoutMs && maxRetries == other.maxRetries &&
            trustedCertificates.size == other.trustedCertificates.size &&
            trustedCertificates.zip(other.trustedCertificates).all { (a, b) -> a.contentEquals(b) }

    /** Consistent with [equals]. */
    override fun hashCode(): Int =
        listOf(baseUrl, device, connectTimeoutMs, requestTimeoutMs, callTimeoutMs, maxRetries).hashCode() * 31 +
            trustedCertificates.fold(0) { hash, cert -> hash * 31 + cert.contentHashCode() }

    /** The fields, with the certificates as their sizes. */
    override fun toString(): String =
        "ClientConfig(baseUrl=$baseUrl, device=$device, connectTimeoutMs=$connectTimeoutMs, " +
            "requestTimeoutMs=$requestTimeoutMs, callTimeoutMs=$callTimeoutMs, maxRetries=$maxRetries, " +
            "trustedCertificates=${trustedCertificates.map { "${it.size} bytes" }})"

    internal fun toFfi(): FfiClientConfig = FfiClientConfig(
        baseUrl, device.toFfi(), connectTimeoutMs, requestTimeoutMs, callTimeoutMs, maxRetries, trustedCertificates,
    )
}

/**
 * The device reporting actions.
 *
 * @property deviceType The platform.
 * @property deviceId A stable identifier of this install (not a hardware id), used by fraud controls. Optional.
 */
public data class DeviceInfo @JvmOverloads constructor(
    public val deviceType: DeviceType,
    public val deviceId: String? = null,
) {
    internal fun toFfi(): FfiDeviceInfo = FfiDeviceInfo(FfiDeviceType.valueOf(deviceType.name), deviceId)
}

/** The platform of the device, in the API's spelling (`Android`, `iOS`, `FireOS`, `Web`). */
public enum class DeviceType {
    /** An Android phone or tablet. */
    ANDROID,

    /** An iPhone or iPad. */
    IOS,

    /** An Amazon Fire tablet or TV (Fire OS). */
    FIRE_OS,

    /** A web app. */
    WEB,
}

/**
 * A customer token fetched by the app from its own backend (which mints it with its secret key). `toString`
 * never shows the token.
 *
 * @property token The `ct_…` token.
 * @property expiresInSeconds Seconds until it expires, as answered by `POST /v1/customer_tokens`.
 */
public data class CustomerToken(
    public val token: String,
    public val expiresInSeconds: Long,
) {
    /** `CustomerToken(token=<redacted>, expiresInSeconds=900)`. */
    override fun toString(): String = "CustomerToken(token=<redacted>, expiresInSeconds=$expiresInSeconds)"

    internal fun toFfi(): FfiCustomerToken = FfiCustomerToken(token, expiresInSeconds)
}

/**
 * An amount of money in integer minor units (cents for USD, yen for JPY).
 *
 * @property amount The amount in minor units.
 * @property currency The ISO 4217 currency code.
 */
public data class Money(public val amount: Long, public val currency: String)

/** What kind of item a reward offers. */
public sealed class ItemKind {
    /** Shipped to the customer. */
    public data object Physical : ItemKind()

    /** A code shown on redemption. */
    public data object Digital : ItemKind()

    /** A catalog or store credit. */
    public data object Credit : ItemKind()

    /** A kind this SDK version does not know yet, by its API [name]. */
    public data class Other(public val name: String) : ItemKind()

    internal companion object {
        fun of(k: FfiItemKind): ItemKind = when (k) {
            is FfiItemKind.Physical -> Physical
            is FfiItemKind.Digital -> Digital
            is FfiItemKind.Credit -> Credit
            is FfiItemKind.Other -> Other(k.name)
        }
    }
}

/**
 * One item the customer may choose when redeeming.
 *
 * @property itemId The item's id.
 * @property title Its title, for people.
 * @property kind What kind of item it is.
 * @property value What it is worth.
 * @property imageUrl A picture of it, when there is one.
 */
public data class OfferItem(
    public val itemId: String,
    public val title: String,
    public val kind: ItemKind,
    public val value: Money,
    public val imageUrl: String?,
) {
    internal companion object {
        fun of(i: FfiOfferItem): OfferItem =
            OfferItem(i.itemId, i.title, ItemKind.of(i.kind), Money(i.value.amount, i.value.currency), i.imageUrl)
    }
}

/** The status of a reward. */
public sealed class RewardStatus {
    /** Issued, waiting for the customer to redeem it. */
    public data object Issued : RewardStatus()

    /** The customer chose an item. */
    public data object Redeemed : RewardStatus()

    /** The item was shipped. */
    public data object Shipped : RewardStatus()

    /** The item was delivered. */
    public data object Delivered : RewardStatus()

    /** Not redeemed in time. */
    public data object Expired : RewardStatus()

    /** Cancelled by the brand. */
    public data object Cancelled : RewardStatus()

    /** Held for fraud review: the link does not work until released. */
    public data object Flagged : RewardStatus()

    /** Blocked by fraud review. */
    public data object Blocked : RewardStatus()

    /** A status this SDK version does not know yet, by its API [name]. */
    public data class Other(public val name: String) : RewardStatus()

    internal companion object {
        fun of(s: FfiRewardStatus): RewardStatus = when (s) {
            is FfiRewardStatus.Issued -> Issued
            is FfiRewardStatus.Redeemed -> Redeemed
            is FfiRewardStatus.Shipped -> Shipped
            is FfiRewardStatus.Delivered -> Delivered
            is FfiRewardStatus.Expired -> Expired
            is FfiRewardStatus.Cancelled -> Cancelled
            is FfiRewardStatus.Flagged -> Flagged
            is FfiRewardStatus.Blocked -> Blocked
            is FfiRewardStatus.Other -> Other(s.name)
        }
    }
}

/**
 * A reward of the customer: open [url] in a browser to redeem it.
 *
 * @property id The reward's id (`rwd_…`).
 * @property campaignId The campaign that issued it.
 * @property momentId The moment it rewards.
 * @property status Where it stands.
 * @property url The unique redemption link (`…/r/<token>`).
 * @property test A test-mode reward (campaign approved but not live): same link every time, nothing consumed.
 * @property expiresAt When the link stops working.
 * @property createdAt When it was issued.
 * @property offer The items the customer may pick from.
 */
public data class Reward(
    public val id: String,
    public val campaignId: String,
    public val momentId: String,
    public val status: RewardStatus,
    public val url: String,
    public val test: Boolean,
    public val expiresAt: Instant,
    public val createdAt: Instant,
    public val offer: List<OfferItem>,
) {
    internal companion object {
        fun of(r: FfiReward): Reward = Reward(
            r.id, r.campaignId, r.momentId, RewardStatus.of(r.status), r.url, r.test, r.expiresAt, r.createdAt,
            r.offer.map(OfferItem::of),
        )
    }
}

/**
 * The customer's progress toward a goal moment ("5 workouts in 30 days").
 *
 * @property campaignId The campaign.
 * @property momentId The goal moment.
 * @property current Actions counted in the window so far.
 * @property target Actions the goal needs.
 * @property windowSeconds The window the actions must fall in.
 * @property completed Whether the goal was met (a reward was issued).
 */
public data class Progress(
    public val campaignId: String,
    public val momentId: String,
    public val current: Long,
    public val target: Long,
    public val windowSeconds: Long,
    public val completed: Boolean,
) {
    internal companion object {
        fun of(p: FfiProgress): Progress =
            Progress(p.campaignId, p.momentId, p.current, p.target, p.windowSeconds, p.completed)
    }
}

/**
 * A goal: [target] actions within [windowSeconds].
 *
 * @property target Actions the goal needs.
 * @property windowSeconds The window the actions must fall in.
 */
public data class Goal(public val target: Long, public val windowSeconds: Long) {
    internal companion object {
        fun of(g: FfiGoal): Goal = Goal(g.target, g.windowSeconds)
    }
}

/**
 * What a challenge offers, to announce it before the customer completes it.
 *
 * @property campaignId The campaign.
 * @property momentId The moment.
 * @property campaignStatus The campaign's status (`live`, `approved`, …) as the API spells it.
 * @property announcementMessage The brand's message announcing the challenge.
 * @property imageUrl A picture for the announcement, when there is one.
 * @property campaignEndAt When the campaign ends.
 * @property remainingRewardCount How many rewards can still be issued now.
 * @property offer The items a reward would offer.
 * @property goal The goal, for goal moments.
 */
public data class RewardInfo(
    public val campaignId: String,
    public val momentId: String,
    public val campaignStatus: String,
    public val announcementMessage: String,
    public val imageUrl: String?,
    public val campaignEndAt: Instant,
    public val remainingRewardCount: Long,
    public val offer: List<OfferItem>,
    public val goal: Goal?,
) {
    internal companion object {
        fun of(i: FfiRewardInfo): RewardInfo = RewardInfo(
            i.campaignId, i.momentId, i.campaignStatus, i.announcementMessage, i.imageUrl, i.campaignEndAt,
            i.remainingRewardCount, i.offer.map(OfferItem::of), i.goal?.let(Goal::of),
        )
    }
}

/** The result of reporting an action. */
public sealed class ActionOutcome {
    /** The moment is complete: a [reward] was issued (show its `url`). */
    public data class Rewarded(public val reward: Reward) : ActionOutcome()

    /** A goal moment not met yet: the [progress] so far. Nothing was issued. */
    public data class InProgress(public val progress: Progress) : ActionOutcome()

    internal companion object {
        fun of(o: FfiActionOutcome): ActionOutcome = when (o) {
            is FfiActionOutcome.Rewarded -> Rewarded(Reward.of(o.reward))
            is FfiActionOutcome.InProgress -> InProgress(Progress.of(o.progress))
        }
    }
}

/** A change of the customer's rewards or progress, from [MomentsClient.rewardEvents] or a [RewardListener]. */
public sealed class RewardEvent {
    /** The current known state, sent first to every new listener (and again if a listener fell behind). */
    public data class Snapshot(public val rewards: List<Reward>, public val progress: List<Progress>) : RewardEvent()

    /** A [reward] was issued for an action reported through this client. */
    public data class RewardIssued(public val reward: Reward) : RewardEvent()

    /** A goal moment progressed. */
    public data class ProgressUpdated(public val progress: Progress) : RewardEvent()

    /** The customer's [rewards] were fetched again ([MomentsClient.myRewards]). */
    public data class RewardsRefreshed(public val rewards: List<Reward>) : RewardEvent()

    internal companion object {
        fun of(e: FfiRewardEvent): RewardEvent = when (e) {
            is FfiRewardEvent.Snapshot -> Snapshot(e.rewards.map(Reward::of), e.progress.map(Progress::of))
            is FfiRewardEvent.RewardIssued -> RewardIssued(Reward.of(e.reward))
            is FfiRewardEvent.ProgressUpdated -> ProgressUpdated(Progress.of(e.progress))
            is FfiRewardEvent.RewardsRefreshed -> RewardsRefreshed(e.rewards.map(Reward::of))
        }
    }
}

/** The client's connection and authentication status ([MomentsClient.status]). */
public sealed class ClientStatus {
    /** No call made yet. */
    public data object Idle : ClientStatus()

    /** The last call reached the API with a valid token. */
    public data object Online : ClientStatus()

    /** The last call could not reach the API ([code]: network error, timeout or unreadable answer). */
    public data class Offline(public val code: ErrorCode) : ClientStatus()

    /** The token provider failed or the API refused the token ([code] says which). */
    public data class Unauthenticated(public val code: ErrorCode) : ClientStatus()

    internal companion object {
        fun of(s: FfiClientStatus): ClientStatus = when (s) {
            is FfiClientStatus.Idle -> Idle
            is FfiClientStatus.Online -> Online
            is FfiClientStatus.Offline -> Offline(ErrorCode.of(s.code))
            is FfiClientStatus.Unauthenticated -> Unauthenticated(ErrorCode.of(s.code))
        }
    }
}
