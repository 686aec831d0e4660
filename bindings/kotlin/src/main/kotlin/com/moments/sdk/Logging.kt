package com.moments.sdk

import com.moments.sdk.internal.LogLevel as FfiLogLevel
import com.moments.sdk.internal.LogRecord as FfiLogRecord
import com.moments.sdk.internal.LogSink as FfiLogSink
import com.moments.sdk.internal.clearLogSink as ffiClearLogSink
import com.moments.sdk.internal.setLogSink as ffiSetLogSink

/** Severity of a log record, most verbose first. */
public enum class LogLevel {
    /** Every step, for debugging the SDK itself. */
    TRACE,

    /** Requests and their outcomes. */
    DEBUG,

    /** Notable events (a token fetched, an outbox opened). */
    INFO,

    /** Something failed and was handled (a retry, a dropped action). */
    WARN,

    /** Something failed. */
    ERROR,
}

/**
 * One log line of the SDK.
 *
 * @property level Its severity.
 * @property target The SDK module that logged, e.g. `moments_client::http`.
 * @property line The message followed by its fields as `key=value` (never a token or key).
 */
public data class LogRecord(public val level: LogLevel, public val target: String, public val line: String)

/**
 * Receives the SDK's logs (forward them to Logcat, SLF4J, …). Called on SDK threads, never the caller's: it must
 * be quick and must not call back into the SDK.
 */
public fun interface LogSink {
    /** Receives one record at or above the level given to [Moments.setLogSink]. */
    public fun log(record: LogRecord)
}

/** Process-wide settings of the SDK. */
public object Moments {
    /**
     * Installs (or replaces) the app's log sink, receiving records at [level] and above:
     * `Moments.setLogSink(LogSink { Log.i("Moments", it.line) }, LogLevel.INFO)`.
     */
    @JvmStatic
    public fun setLogSink(sink: LogSink, level: LogLevel) {
        ffiSetLogSink(object : FfiLogSink {
            override fun log(record: FfiLogRecord) {
                nameSdkThread()
                sink.log(LogRecord(LogLevel.valueOf(record.level.name), record.target, record.line))
            }
        }, FfiLogLevel.valueOf(level.name))
    }

    /** Removes the app's log sink; logs are dropped afterwards. */
    @JvmStatic
    public fun clearLogSink() {
        ffiClearLogSink()
    }
}
