// The control API through the kit, in XCTest, against a fresh mock per test.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MomentsTesting
import XCTest

final class ControlTests: XCTestCase {
    func testClockModeFaultsJournalAndResetDoWhatTheMockSays() async throws {
        try await withMomentsMock { mock in
            let demo = try await mock.demo()
            XCTAssertEqual(demo.campaignID, "cmp_demo_workouts")
            XCTAssertTrue(demo.moments.contains { $0.id == "level_5" && !$0.clientReportable })

            let frozen = try await mock.clock().freeze()
            XCTAssertTrue(frozen.frozen)
            let later = try await mock.clock().advance(by: 2 * 3_600)
            XCTAssertEqual(later.now.timeIntervalSince(frozen.now), 2 * 3_600, accuracy: 0.001)

            let mode = try await mock.mode()
            XCTAssertEqual(mode, .live)
            try await mock.setMode(.test)
            let changed = try await mock.mode()
            XCTAssertEqual(changed, .test)

            try await mock.faults().inject(Fault.on(.trigger).status(503).times(2))
            var armed = try await mock.faults().list()
            XCTAssertEqual(armed.map(\.route), [.trigger])
            XCTAssertEqual(armed.first?.remaining, 2)
            var request = URLRequest(url: mock.baseURL.appendingPathComponent("v1/triggers"))
            request.httpMethod = "POST"
            request.httpBody = Data("{}".utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            let answered = try await status(of: request)
            XCTAssertEqual(answered, 503, "the fault answers before the request is handled")
            armed = try await mock.faults().list()
            XCTAssertEqual(armed.first?.remaining, 1)
            try await mock.journal().expect(.trigger).once().withStatus(503).verify()

            do {
                try await mock.journal().expect(.getReward).atLeast(1).verify()
                XCTFail("an expectation of a route never called is unmet")
            } catch let unmet as UnmetExpectation {
                XCTAssertTrue(
                    unmet.description.hasPrefix("expected GET /v1/rewards/{id} at least 1 time, it was called 0 times"),
                    unmet.description
                )
                XCTAssertEqual(unmet.others.count, 1)
            }

            try await mock.faults().clear()
            let cleared = try await mock.faults().list()
            XCTAssertTrue(cleared.isEmpty)
            try await mock.faults().inject(Fault.on(.trigger).status(503))
            try await mock.reset()
            let afterReset = (
                try await mock.mode(), try await mock.faults().list(), try await mock.clock().state(),
                try await mock.journal().count(.trigger)
            )
            XCTAssertEqual(afterReset.0, .live)
            XCTAssertTrue(afterReset.1.isEmpty)
            XCTAssertFalse(afterReset.2.frozen)
            XCTAssertEqual(afterReset.3, 0)
            let deliveries = try await mock.webhooks().deliveries()
            XCTAssertTrue(deliveries.isEmpty)
        }
    }

    func testBadInputIsATypedErrorNamingTheField() async throws {
        try await withMomentsMock { mock in
            await assertField("seconds") { try await mock.clock().advance(by: -1) }
            await assertField("seconds") { try await mock.clock().advance(by: 0.5) }
            await assertField("count") { try await mock.faults().inject(Fault.on(.trigger).status(503).times(0)) }
            await assertField("route") { _ = try Route.of("FETCH /v1/triggers") }
            await assertField("route") {
                try await mock.faults().inject(Fault.on(try Route.of("POST /v1/trigger")).status(503))
            }
            do {
                _ = try await mock.loadCampaign(Fixtures.campaign().budgetUSD(1))
                XCTFail("a $1 budget is refused")
            } catch let error as MockError {
                guard case let .api(_, code, _, _, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(code, "validation_error")
                XCTAssertTrue(error.field?.hasPrefix("campaigns[0].campaign.budget") ?? false, "\(error)")
            }
        }
    }

    func testMountedExpectationsAreCheckedAfterTheBody() async throws {
        do {
            try await withMomentsMock { mock in
                await mock.journal().expect(.trigger).once().mount(on: mock)
            }
            XCTFail("the mounted expectation is unmet")
        } catch let unmet as UnmetExpectation {
            XCTAssertTrue(unmet.description.hasPrefix("expected POST /v1/triggers exactly 1 time"), unmet.description)
        }
    }

    func testMocksAreIndependentAndAStoppedMockFreesItsPort() async throws {
        let a = try MomentsMock.start()
        let b = try MomentsMock.start()
        XCTAssertNotEqual(a.baseURL, b.baseURL)
        try await a.setMode(.test)
        let modeB = try await b.mode()
        XCTAssertEqual(modeB, .live)
        await a.stop()
        await a.stop()
        let running = await a.isRunning
        XCTAssertFalse(running)
        do {
            _ = try await Control.connect(a.baseURL).mode()
            XCTFail("a stopped mock answers nothing")
        } catch MockError.transport {}
        let stillB = try await b.mode()
        XCTAssertEqual(stillB, .live)
        await b.stop()
    }

    /// Checks that `call` throws a ``MockError`` naming `field`.
    private func assertField(
        _ field: String, file: StaticString = #filePath, line: UInt = #line, _ call: () async throws -> Void
    ) async {
        do {
            try await call()
            XCTFail("no error, expected one naming `\(field)`", file: file, line: line)
        } catch let error as MockError {
            XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
        } catch {
            XCTFail("not a MockError: \(error)", file: file, line: line)
        }
    }

    private func status(of request: URLRequest) async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { _, response, error in
                if let error {
                    continuation.resume(throwing: error)
                } else {
                    continuation.resume(returning: (response as? HTTPURLResponse)?.statusCode ?? 0)
                }
            }.resume()
        }
    }
}
