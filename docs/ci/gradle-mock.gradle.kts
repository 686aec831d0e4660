// The mock around a Gradle `test` task: apply from build.gradle.kts with `apply(from = "gradle-mock.gradle.kts")`.
// MOCK_BIN names the binary (the release's static binary, or `moments-mock-server` on PATH).
val startMoments by tasks.registering(Exec::class) {
    commandLine("sh", "docs/ci/start-mock.sh", "--random-demo-keys")
    environment("MOCK_PORT", "8080")
    environment("MOCK_PID_FILE", layout.buildDirectory.file("moments-mock.pid").get().asFile.path)
    environment("MOCK_LOG", layout.buildDirectory.file("moments-mock.log").get().asFile.path)
}
val stopMoments by tasks.registering(Exec::class) {
    commandLine("sh", "-c", "kill \"$(cat build/moments-mock.pid)\"")
    isIgnoreExitValue = true
}
tasks.named<Test>("test") {
    dependsOn(startMoments)
    finalizedBy(stopMoments)
    environment("MOMENTS_BASE_URL", "http://127.0.0.1:8080")
}
