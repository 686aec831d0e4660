// swift-tools-version:6.0
// What a fresh mock costs a test through the Swift testing kit: `MomentsStartupBench`, an executable of its own
// (the root package's products stay the SDK and the kit), depending on the root package by path. Run with
// `cargo xtask swift-kit-bench`, which builds it in release mode with the release libraries and hands its samples to
// `moments-bench startup --samples`.
import Foundation
import PackageDescription

// The root package (three folders up); SwiftPM names a path dependency by its folder's name, lowercased.
let rootDir = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "MomentsKitBench",
    platforms: [.macOS(.v12)],
    dependencies: [.package(path: rootDir.path)],
    targets: [
        .executableTarget(
            name: "MomentsStartupBench",
            dependencies: [.product(name: "MomentsTesting", package: rootDir.lastPathComponent.lowercased())]
        ),
    ]
)
