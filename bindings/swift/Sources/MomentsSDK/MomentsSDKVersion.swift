/// The version of this package: the repository's `[workspace.package] version` (root `Cargo.toml`), written
/// here by `cargo xtask version` and checked by `cargo xtask ci`.
public enum MomentsSDKVersion {
    /// The SDK's version, e.g. `0.1.0`.
    public static let version = "0.1.0"
}
