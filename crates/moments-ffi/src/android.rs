//! Android: hands the app's `Context` to `rustls-platform-verifier`, which verifies server certificates
//! through Android's trust manager (system CAs, user-installed CAs where the app's network security config
//! allows them, and the config's own rules) by calling its Kotlin component over JNI.
//!
//! The Android module calls [`Java_com_moments_sdk_android_PlatformTrust_nativeInit`] once, before the first
//! request: `com.moments.sdk.android.PlatformTrustInitializer` (a `ContentProvider` merged into the app's
//! manifest, so apps write no code for it) loads this library with `System.loadLibrary` and calls
//! `PlatformTrust.nativeInit(context)`. Without it, every HTTPS request fails with a TLS error.
//!
//! Compiled for Android only (and for the host's unit tests, against a stand-in for the verifier's Android
//! entry point, so that the JNI glue is type-checked where no Android toolchain is installed).

use jni::EnvUnowned;
use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JClass, JObject};

#[cfg(target_os = "android")]
use rustls_platform_verifier::android::init_with_env;

/// The host's stand-in for `rustls_platform_verifier::android::init_with_env` (same signature).
#[cfg(not(target_os = "android"))]
fn init_with_env(_env: &mut jni::Env, _context: JObject) -> Result<(), jni::errors::Error> {
    Ok(())
}

/// `com.moments.sdk.android.PlatformTrust.nativeInit(context: Context)` (a `@JvmStatic external fun`).
/// Keeps a global reference to the application context, the JVM and its class loader; later calls do
/// nothing. A failure is thrown to the caller as a `RuntimeException`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_com_moments_sdk_android_PlatformTrust_nativeInit<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    context: JObject<'caller>,
) {
    env.with_env(|env| init_with_env(env, context))
        .resolve::<ThrowRuntimeExAndDefault>();
}
