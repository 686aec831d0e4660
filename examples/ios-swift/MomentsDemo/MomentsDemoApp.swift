// A minimal iOS integration of the Moments SDK: a button reporting a moment, the reward URL shown as a link, the
// customer's rewards listed. The SDK-facing code is in RewardsModel.swift.
import MomentsSDK
import OSLog
import SwiftUI
import UIKit // UIDevice

struct ContentView: View {
    // The configuration is constant, so creating the client fails only if it is malformed.
    @State private var model = try! RewardsModel(
        campaignID: "cmp_demo_workouts", // the mock's demo campaign
        deviceID: UIDevice.current.identifierForVendor?.uuidString
    )

    var body: some View {
        VStack(spacing: 16) {
            Text(model.announcement)
            Button("I finished my first workout") { Task { await model.finishWorkout() } }
            Text(model.message)
            if let url = model.rewardURL { Link("Open my reward", destination: url) }
            if !model.isOnline { Text("Offline").foregroundStyle(.secondary) }
            List(model.rewards) { reward in
                Text("\(reward.momentID): \(String(describing: reward.status))")
            }
        }
        .padding()
        .task { await model.load() }
    }
}

@main
struct MomentsDemoApp: App {
    init() {
        let logger = Logger(subsystem: "com.example.moments-demo", category: "Moments")
        setLogSink(level: .info) { record in
            logger.log("\(record.target, privacy: .public): \(record.message, privacy: .public)")
        }
    }

    var body: some Scene { WindowGroup { ContentView() } }
}
