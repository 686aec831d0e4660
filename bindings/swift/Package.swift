// swift-tools-version:5.9
// The Swift SDK of the Moments Rewards API: uniffi bindings over the Rust client.
//
// On Apple platforms the native library comes as `MomentsFFI.xcframework` (`cargo xtask xcframework`).
// On Linux it is the system library `libmoments_ffi.so` next to the generated header; `cargo xtask swift-test`
// generates the sources and sets MOMENTS_LIB_DIR (default: ../../target/debug).
import PackageDescription
import Foundation

let packageDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

#if os(Linux)
let libDir = ProcessInfo.processInfo.environment["MOMENTS_LIB_DIR"]
    ?? packageDir.appendingPathComponent("../../target/debug").standardizedFileURL.path
let ffiTarget: Target = .systemLibrary(name: "MomentsFFI", path: "Sources/MomentsFFI")
let sdkLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-L\(libDir)", "-Xlinker", "-rpath", "-Xlinker", libDir]),
]
#else
let ffiTarget: Target = .binaryTarget(name: "MomentsFFI", path: "MomentsFFI.xcframework")
let sdkLinkerSettings: [LinkerSetting] = []
#endif

let package = Package(
    name: "MomentsSDK",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "MomentsSDK", targets: ["MomentsSDK"]),
    ],
    targets: [
        ffiTarget,
        .target(
            name: "MomentsSDK",
            dependencies: ["MomentsFFI"],
            path: "Sources/MomentsSDK",
            linkerSettings: sdkLinkerSettings
        ),
        .testTarget(
            name: "MomentsSDKTests",
            dependencies: ["MomentsSDK"],
            path: "Tests/MomentsSDKTests"
        ),
    ]
)
