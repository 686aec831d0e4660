//! Links the shared library for 16 KB memory pages where the linker is ELF's (Android and Linux): every `PT_LOAD`
//! segment aligned to 16 KB, which Android 15+ devices with 16 KB pages need (Google Play requires it for apps
//! that target Android 15) and which 4 KB-page devices load as well. Only this crate's cdylib link gets the flag,
//! so no dependency is rebuilt for it. `cargo xtask android`, `lib-size` and `kotlin-test` read the built
//! libraries' program headers to check it.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "android" || os == "linux" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,max-page-size=16384");
    }
}
