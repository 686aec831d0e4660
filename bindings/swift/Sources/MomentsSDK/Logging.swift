internal import MomentsBindings

/// Sends the SDK's log records at `level` and above to `handler` (forward them to `os.Logger`), replacing the
/// handler set before.
///
/// ```swift
/// setLogSink(level: .info) { record in
///     logger.log("\(record.target): \(record.message)")
/// }
/// ```
///
/// - Parameters:
///   - level: The least severe level to receive.
///   - handler: Called on SDK threads, never the caller's; it must return quickly and must not call back into
///     the SDK.
public func setLogSink(level: LogLevel = .info, _ handler: @escaping @Sendable (LogRecord) -> Void) {
    MomentsBindings.setLogSink(sink: LogClosureSink(handler), level: level.ffi)
}

/// Stops sending the SDK's log records to the handler set by ``setLogSink(level:_:)``.
public func clearLogSink() {
    MomentsBindings.clearLogSink()
}

final class LogClosureSink: MomentsBindings.LogSink {
    let handler: @Sendable (LogRecord) -> Void

    init(_ handler: @escaping @Sendable (LogRecord) -> Void) {
        self.handler = handler
    }

    func log(record: MomentsBindings.LogRecord) {
        handler(LogRecord(record))
    }
}
