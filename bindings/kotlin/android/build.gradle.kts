// The Android library module of the Moments SDK (AAR): the uniffi-generated Kotlin, the idiomatic layer, and
// libmoments_ffi.so per ABI under src/main/jniLibs (built by `cargo xtask android`, needs the NDK).
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
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64", "x86")
        }
    }

    sourceSets["main"].apply {
        // The generated Kotlin (committed, written by `cargo xtask bindings`) + the hand-written idiomatic layer.
        java.srcDirs("../generated", "../src/main/kotlin")
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

dependencies {
    // JNA as an AAR: it carries libjnidispatch.so for every Android ABI (the plain jar only has desktop ones).
    implementation("net.java.dev.jna:jna:5.17.0@aar")
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
