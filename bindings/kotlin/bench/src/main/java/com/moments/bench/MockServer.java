package com.moments.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The mock server the benchmark talks to: a child process {@code $MOMENTS_MOCK_BIN --port 0} (its URL read from the
 * first stdout line), or an already running one when {@code MOMENTS_MOCK_URL} is set.
 */
final class MockServer implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");

    private final Process process;
    final String baseUrl;

    private MockServer(Process process, String baseUrl) {
        this.process = process;
        this.baseUrl = baseUrl;
    }

    static MockServer start() throws IOException {
        String url = setting("MOMENTS_MOCK_URL", "moments.mock.url");
        if (url != null) {
            return new MockServer(null, trimSlash(url));
        }
        String bin = setting("MOMENTS_MOCK_BIN", "moments.mock.bin");
        if (bin == null) {
            throw new IllegalStateException(
                    "set MOMENTS_MOCK_BIN to the release moments-mock-server binary (cargo xtask kotlin-bench does)");
        }
        Process process = new ProcessBuilder(bin, "--port", "0").redirectErrorStream(true).start();
        BufferedReader reader =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        String found = null;
        String line;
        while (found == null && (line = reader.readLine()) != null) {
            seen.append(line).append('\n');
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                found = m.group(1);
            }
        }
        if (found == null) {
            process.destroyForcibly();
            throw new IllegalStateException("the mock server did not print its URL:\n" + seen);
        }
        // Keep draining its output so it never blocks on a full pipe.
        Thread drain = new Thread(() -> {
            try {
                while (reader.readLine() != null) {
                    // discard
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "mock-output");
        drain.setDaemon(true);
        drain.start();
        return new MockServer(process, trimSlash(found));
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String setting(String env, String property) {
        String value = System.getenv(env);
        return value != null && !value.isEmpty() ? value : System.getProperty(property);
    }

    private static String trimSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
