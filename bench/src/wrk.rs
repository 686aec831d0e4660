//! Runs `wrk` and reads its summary.

use std::path::Path;
use std::process::Command;

/// What one `wrk` run measured.
#[derive(Clone, Debug, Default)]
pub struct LoadResult {
    /// Requests per second over the whole run.
    pub requests_per_sec: f64,
    /// Requests completed over the whole run.
    pub requests: u64,
    /// Median latency in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency in milliseconds.
    pub p99_ms: f64,
    /// Responses that were not 2xx/3xx, as counted by wrk.
    pub non_2xx: u64,
    /// Socket errors (connect, read, write, timeout) as counted by wrk.
    pub socket_errors: u64,
}

/// One load run: `connections` connections over `threads` threads for `seconds`, optionally scripted.
pub struct Load<'a> {
    pub url: &'a str,
    pub connections: u32,
    pub threads: u32,
    pub seconds: u32,
    pub script: Option<&'a Path>,
}

impl Load<'_> {
    /// Runs wrk and parses its `--latency` report.
    pub fn run(&self) -> Result<LoadResult, String> {
        let mut cmd = Command::new("wrk");
        cmd.arg("--latency")
            .arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", self.seconds))
            .arg("--timeout")
            .arg("5s");
        if let Some(script) = self.script {
            cmd.arg("-s").arg(script);
        }
        cmd.arg(self.url);
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run wrk (apt-get install wrk): {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "wrk failed: {}{}",
                text,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        parse(&text).ok_or_else(|| format!("unreadable wrk output:\n{text}"))
    }
}

/// Parses wrk's text report.
pub fn parse(text: &str) -> Option<LoadResult> {
    let mut result = LoadResult::default();
    let mut in_distribution = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Latency Distribution") {
            in_distribution = true;
            continue;
        }
        if let Some((count, _)) = line.split_once(" requests in ") {
            result.requests = count.trim().parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("Requests/sec:") {
            result.requests_per_sec = rest.trim().parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            result.non_2xx = rest.trim().parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            result.socket_errors = rest
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum();
        } else if in_distribution {
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some("50%"), Some(v)) => result.p50_ms = duration_ms(v)?,
                (Some("99%"), Some(v)) => {
                    result.p99_ms = duration_ms(v)?;
                    in_distribution = false;
                }
                (Some(p), Some(_)) if p.ends_with('%') => {}
                _ => in_distribution = false,
            }
        }
    }
    (result.requests_per_sec > 0.0).then_some(result)
}

/// `"1.23ms"`, `"850.00us"`, `"1.02s"` → milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 10s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.50us  200.10us   9.80ms   90.00%
    Req/Sec    38.50k     2.10k   42.00k    70.00%
  Latency Distribution
     50%  380.00us
     75%  450.00us
     90%  600.00us
     99%    1.20ms
  766000 requests in 10.00s, 120.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 15
Requests/sec:  76600.12
Transfer/sec:     12.00MB
";

    #[test]
    fn parses_the_latency_report() {
        let r = parse(SAMPLE).expect("parsed");
        assert!((r.requests_per_sec - 76600.12).abs() < 1e-6);
        assert_eq!(r.requests, 766_000);
        assert!((r.p50_ms - 0.38).abs() < 1e-9);
        assert!((r.p99_ms - 1.2).abs() < 1e-9);
        assert_eq!(r.non_2xx, 15);
        assert_eq!(r.socket_errors, 3);
    }

    #[test]
    fn rejects_output_without_a_rate() {
        assert!(parse("wrk: connection refused").is_none());
    }

    #[test]
    fn reads_every_duration_unit() {
        assert_eq!(duration_ms("2.00s"), Some(2000.0));
        assert_eq!(duration_ms("1.50ms"), Some(1.5));
        assert_eq!(duration_ms("500.00us"), Some(0.5));
        assert_eq!(duration_ms("1.00m"), Some(60_000.0));
        assert_eq!(duration_ms("fast"), None);
    }
}
