import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A webhook endpoint of the demo app served in the test's process (``Webhooks/receiver(_:)``): it answers every
/// delivery 200 and keeps its body. ``stop()`` stops it; a ``MomentsMock`` stops its receivers when it stops.
public final class WebhookReceiver: Sendable {
    /// The endpoint's URL (`http://127.0.0.1:PORT/hooks`).
    public let url: String
    /// The endpoint's id (`whe_…`).
    public let endpointID: String
    private let listener: Listener

    init(listener: Listener, endpointID: String) {
        self.listener = listener
        self.url = "http://127.0.0.1:\(listener.port)/hooks"
        self.endpointID = endpointID
    }

    /// The bodies of the deliveries received so far (the signed events' JSON), oldest first.
    public func received() async -> [String] {
        await listener.bodies.all
    }

    /// Stops the receiver. Idempotent.
    public func stop() async {
        await listener.stop()
    }
}

/// The bodies a receiver got.
actor Bodies {
    private(set) var all: [String] = []

    func append(_ body: String) { all.append(body) }
}

/// A listening socket on `127.0.0.1` and the thread that answers its connections, one at a time.
final class Listener: Sendable {
    let port: UInt16
    let bodies: Bodies
    private let state = ListenerState()

    init() throws {
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw MockError.transport("webhook receiver: socket() failed (\(errno))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw MockError.transport("webhook receiver: cannot listen on 127.0.0.1 (\(errno))")
        }
        port = UInt16(bigEndian: address.sin_port)
        let bodies = Bodies()
        self.bodies = bodies
        let thread = Thread {
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 {
                    if errno == EINTR { continue }
                    break
                }
                if Listener.answer(connection, bodies: bodies) { break }
            }
            close(fd)
        }
        thread.name = "moments-webhook-receiver"
        thread.start()
    }

    /// Stops the thread: a connection that says `STOP` ends its loop, and it closes the socket.
    func stop() async {
        guard await state.stop() else { return }
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        if connected {
            let stop = Array(Listener.stopWord.utf8)
            _ = stop.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
    }

    private static let stopWord = "STOP\r\n\r\n"

    /// Reads one request (headers, then `Content-Length` bytes of body), keeps its body, answers 200 and closes;
    /// true for the stop word.
    private static func answer(_ connection: Int32, bodies: Bodies) -> Bool {
        defer { close(connection) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = read(connection, &buffer, buffer.count)
            if n <= 0 { return false }
            data.append(contentsOf: buffer[0..<n])
            if data.elementsEqual(stopWord.utf8) { return true }
            if headerEnd == nil, let end = find(Array("\r\n\r\n".utf8), in: data) {
                headerEnd = end + 4
                let head = String(decoding: data[0..<end], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let start = headerEnd, data.count - start >= contentLength {
                let body = String(decoding: data[start..<(start + contentLength)], as: UTF8.self)
                let stored = DispatchSemaphore(value: 0)
                Task {
                    await bodies.append(body)
                    stored.signal()
                }
                stored.wait()
                break
            }
        }
        let reply = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8)
        #if os(Linux)
        // A sender that gave up first must not raise SIGPIPE, which would end the test process.
        _ = reply.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        #else
        _ = reply.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
        #endif
        return false
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }
}

/// Whether a listener still runs.
actor ListenerState {
    private var running = true

    /// Marks it stopped; true the first time.
    func stop() -> Bool {
        defer { running = false }
        return running
    }
}
