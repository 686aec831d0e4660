// What a fresh mock costs a test through the Swift testing kit, after `WARMUP` untimed rounds:
//
// - `Swift kit: MomentsMock() → first answer`: from `MomentsMock()` to the first answered control call
//   (`GET /_mock/mode` through the kit's session, a new connection), the stop outside the time;
// - `Swift kit, per test (withMomentsMock, one control call)`: a test's whole cost (start, the call, verify, stop),
//   over `TESTS` tests in a row.
//
// Usage: MomentsStartupBench OUT [TESTS [WARMUP]] (defaults 100, 30). Writes `NAME<TAB>MS` lines, what
// `moments-bench startup --samples FILE` reads.
import Foundation
import MomentsTesting

let args = CommandLine.arguments
guard args.count >= 2 else {
    FileHandle.standardError.write("usage: MomentsStartupBench OUT [TESTS [WARMUP]]\n".data(using: .utf8)!)
    exit(2)
}
let out = args[1]
let tests = args.count > 2 ? Int(args[2]) ?? 100 : 100
let warmup = args.count > 3 ? Int(args[3]) ?? 30 : 30

let first = "Swift kit: MomentsMock() → first answer"
let perTest = "Swift kit, per test (withMomentsMock, one control call)"

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
func ms(since start: UInt64) -> String { String(format: "%.4f", Double(now() - start) / 1e6) }

for _ in 0..<warmup {
    try await withMomentsMock { mock in _ = try await mock.mode() }
}
var lines = ""
for _ in 0..<tests {
    let t = now()
    let mock = try MomentsMock()
    _ = try await mock.mode()
    let elapsed = ms(since: t)
    await mock.stop()
    lines += "\(first)\t\(elapsed)\n"
}
for _ in 0..<tests {
    let t = now()
    try await withMomentsMock { mock in _ = try await mock.mode() }
    lines += "\(perTest)\t\(ms(since: t))\n"
}
try lines.write(toFile: out, atomically: true, encoding: .utf8)
print("wrote \(2 * tests) samples to \(out)")
