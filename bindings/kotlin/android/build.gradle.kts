// The Android library module of the Moments SDK (AAR): the uniffi-generated Kotlin for Android (generated/, with
// android_cleaner), the hand-written public API (../src/main/kotlin, shared with the JVM build, which compiles it in
// explicit API mode), and libmoments_ffi.so per ABI under src/main/jniLibs (built by `cargo xtask android`, needs
// the NDK; every ABI linked for 16 KB pages and checked).
//
// Not built in this repository's CI (no Android SDK there). Build on a machine with the Android SDK:
//   cargo xtask android && gradle -p bindings/kotlin/android assembleRelease
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.2.21"
    `maven-publish`
}

android {
    namespace = "com.moments.sdk"
    compileSdk = 35

    defaultConfig {
        // 26 (Android 8.0, Fire OS 7 and later): the API's times are java.time.Instant, which Android has from
        // API 26, so apps need no core library desugaring. docs/mobile.md has the Fire OS table.
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64", "x86")
        }
    }

    sourceSets["main"].apply {
        // The generated Kotlin for Android (committed, written by `cargo xtask bindings`) + the public API + this
        // module's own Kotlin (src/main/kotlin: the platform verifier's initializer).
        java.srcDirs("generated", "../src/main/kotlin", "src/main/kotlin")
        jniLibs.srcDirs("src/main/jniLibs")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    publishing {
        singleVariant("release") { withSourcesJar() }
    }
}

kotlin {
    jvmToolchain(17)
}

// The version of rustls-platform-verifier's Kotlin component must be the `rustls-platform-verifier-android` crate's
// in the workspace's Cargo.lock: the Rust half calls it over JNI by class and method names.
val rustlsPlatformVerifierVersion: Provider<String> =
    providers.fileContents(layout.projectDirectory.file("../../../Cargo.lock")).asText.map { lock ->
        val lines = lock.lines()
        val at = lines.indexOfFirst { it.trim() == "name = \"rustls-platform-verifier-android\"" }
        require(at >= 0) { "rustls-platform-verifier-android is not in Cargo.lock" }
        lines[at + 1].trim().removePrefix("version = ").trim('"')
    }

dependencies {
    // rustls-platform-verifier's Kotlin component (org.rustls.platformverifier), from its Maven repository
    // (settings.gradle.kts): the Android trust manager behind the native library's certificate checks.
    implementation(rustlsPlatformVerifierVersion.map { "rustls:rustls-platform-verifier:$it" })
    // JNA as an AAR: it carries libjnidispatch.so for every Android ABI (the plain jar only has desktop ones).
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    // @RequiresApi in the generated code's Android cleaner.
    implementation("androidx.annotation:annotation:1.9.1")
    // `api`: the SDK's API returns `Flow`s and is `suspend`, so apps compile against coroutines too.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
}

publishing {
    publications {
        register<MavenPublication>("release") {
            // The version is Cargo.toml's workspace.package.version: `cargo xtask version` checks it,
            // `cargo xtask version X.Y.Z` writes it.
            groupId = "com.moments"
            artifactId = "moments-sdk-android"
            version = "0.1.0"
            afterEvaluate { from(components["release"]) }
        }
    }
}
