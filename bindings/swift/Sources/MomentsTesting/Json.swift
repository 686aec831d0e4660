import Foundation

/// Typed reads of a parsed JSON object (`JSONSerialization`'s `[String: Any]`).
struct Obj {
    let map: [String: Any]

    init(_ map: [String: Any]) { self.map = map }

    func str(_ key: String) throws -> String {
        guard let value = map[key] as? String else { throw MockError.transport("missing `\(key)` in \(map)") }
        return value
    }

    func strOrNil(_ key: String) -> String? { map[key] as? String }

    func int(_ key: String) throws -> Int {
        guard let value = intOrNil(key) else { throw MockError.transport("missing `\(key)` in \(map)") }
        return value
    }

    func intOrNil(_ key: String) -> Int? {
        if let n = map[key] as? Int { return n }
        if let n = map[key] as? NSNumber { return n.intValue }
        return nil
    }

    func bool(_ key: String) -> Bool { map[key] as? Bool ?? false }

    func date(_ key: String) throws -> Date {
        guard let date = try dateOrNil(key) else { throw MockError.transport("missing `\(key)` in \(map)") }
        return date
    }

    func dateOrNil(_ key: String) throws -> Date? {
        guard let text = strOrNil(key) else { return nil }
        guard let date = parseRFC3339(text) else { throw MockError.transport("`\(key)` is not a time: \(text)") }
        return date
    }

    func strings(_ key: String) -> [String] { (map[key] as? [Any])?.map { "\($0)" } ?? [] }

    func objs(_ key: String) -> [Obj] { (map[key] as? [Any])?.compactMap { ($0 as? [String: Any]).map(Obj.init) } ?? [] }
}

/// An RFC 3339 time as the mock writes it (with or without a fraction of a second).
func parseRFC3339(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)
}

/// A time in RFC 3339, whole seconds, UTC.
func rfc3339(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var s = self
        while s.hasSuffix(suffix) { s.removeLast(suffix.count) }
        return s
    }
}
