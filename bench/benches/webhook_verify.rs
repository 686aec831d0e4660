//! Webhook signature verification: what it costs, and whether its time depends on where a forged
//! signature goes wrong (webhook signatures are compared in constant time: docs/security.md).
//!
//! Every case verifies the same 1 KiB payload; the forged signatures differ from the right one in
//! their first byte or in their last byte only. The control is a naive verifier: the same header
//! parsing and HMAC, then an early-exit byte-by-byte comparison, the textbook timing leak. A method
//! that cannot see the control's leak says nothing about the SDK.
//!
//! - `cargo bench -p moments-bench --bench webhook_verify`: criterion timings of
//!   `moments_client::webhooks::verify` and of the naive verifier (right signature, wrong first
//!   byte, wrong last byte), and of the comparisons alone (`subtle`'s constant-time equality,
//!   which `hmac`'s `verify_slice` in the SDK uses, against the early-exit loop).
//! - `cargo bench -p moments-bench --bench webhook_verify -- --dudect`: a dudect-style leak test
//!   (Reparaz, Balasch, Verbauwhede 2017). Samples of the two classes (first byte wrong, last byte
//!   wrong) are taken interleaved in random order; Welch's t-test compares their times, on all
//!   samples and on samples cropped at several percentiles (which drops preemptions and other
//!   outliers); the largest |t| is reported. |t| < 4.5 means no leak detected (dudect's
//!   threshold). Exit status: 0 when the SDK shows no leak and the control does, 1 when the SDK
//!   leaks, 2 when the control's leak is not detected (the run was too noisy to judge).
//!   `MOMENTS_DUDECT_SAMPLES` sets the samples per class (default 1,000,000).
//!
//! Nothing here is a test with a time limit: these are measurements, read by a person.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, criterion_group};
use hmac::{Hmac, Mac};
use moments_client::webhooks;
use sha2::Sha256;
use subtle::ConstantTimeEq;

const SECRET: &str = "whsec_bench_4eC39HqLyjWDarjtT1zdp7dc";
const TIMESTAMP: i64 = 1_790_000_000;
const TOLERANCE: Duration = webhooks::DEFAULT_TOLERANCE;

/// The inputs every case shares.
struct Inputs {
    payload: Vec<u8>,
    now: DateTime<Utc>,
    /// The right `Moments-Signature` header.
    right: String,
    /// The right header with its signature's first byte flipped.
    wrong_first: String,
    /// The right header with its signature's last byte flipped.
    wrong_last: String,
    /// The right MAC, and the two forged ones, as bytes (for the comparisons alone).
    tag: Tag,
    tag_wrong_first: Tag,
    tag_wrong_last: Tag,
}

/// A MAC on a cache line of its own, so that the two forged tags differ in content only, not in
/// how they sit in memory.
#[repr(align(64))]
struct Tag([u8; 32]);

impl Inputs {
    fn new() -> Inputs {
        // A 1 KiB JSON event body.
        let mut payload = br#"{"object":"event","id":"evt_bench","type":"reward.issued","created_at":"2026-11-23T10:00:00Z","data":{"object":{"note":""#.to_vec();
        while payload.len() < 1024 - 4 {
            payload.push(b'x');
        }
        payload.extend_from_slice(br#""}}}"#);
        assert_eq!(payload.len(), 1024);
        let right = webhooks::sign(&payload, SECRET, TIMESTAMP);
        let hex_sig = right.split_once(",v1=").expect("v1").1;
        let tag: [u8; 32] = hex::decode(hex_sig)
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        // Flip the lowest bit: the hex digit stays in its class (0↔1, a↔b), so hex decoding
        // does the same work for every input.
        let flip = |i: usize| {
            let mut t = tag;
            t[i] ^= 1;
            t
        };
        let (tag_wrong_first, tag_wrong_last) = (flip(0), flip(31));
        let header = |t: &[u8; 32]| format!("t={TIMESTAMP},v1={}", hex::encode(t));
        Inputs {
            now: Utc.timestamp_opt(TIMESTAMP, 0).single().expect("time"),
            wrong_first: header(&tag_wrong_first),
            wrong_last: header(&tag_wrong_last),
            right,
            payload,
            tag: Tag(tag),
            tag_wrong_first: Tag(tag_wrong_first),
            tag_wrong_last: Tag(tag_wrong_last),
        }
    }

    /// The SDK's verification.
    fn sdk(&self, header: &str) -> bool {
        webhooks::verify(&self.payload, header, SECRET, TOLERANCE, self.now).is_ok()
    }

    /// The control: the same work, then an early-exit comparison.
    fn naive(&self, header: &str) -> bool {
        let Some((t, sig)) = header.strip_prefix("t=").and_then(|h| h.split_once(",v1=")) else {
            return false;
        };
        let (Ok(t), Ok(sig)) = (t.parse::<i64>(), hex::decode(sig)) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(&self.payload);
        let expected = mac.finalize().into_bytes();
        naive_eq(&expected, &sig)
            && (self.now.timestamp() - t).unsigned_abs() <= TOLERANCE.as_secs()
    }
}

/// Byte-by-byte equality that stops at the first difference. `black_box` keeps the compiler from
/// turning the loop into a `memcmp` call (whose early exit is per machine word or vector).
fn naive_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for i in 0..a.len() {
        if black_box(a[i]) != black_box(b[i]) {
            return false;
        }
    }
    true
}

fn bench(c: &mut Criterion) {
    let inp = Inputs::new();
    assert!(inp.sdk(&inp.right) && inp.naive(&inp.right));
    for h in [&inp.wrong_first, &inp.wrong_last] {
        assert!(!inp.sdk(h) && !inp.naive(h));
    }

    let mut g = c.benchmark_group("webhook_verify_1KiB");
    for (name, header) in [
        ("right", &inp.right),
        ("wrong_first_byte", &inp.wrong_first),
        ("wrong_last_byte", &inp.wrong_last),
    ] {
        g.bench_function(format!("sdk/{name}"), |b| {
            b.iter(|| inp.sdk(black_box(header)))
        });
        g.bench_function(format!("naive/{name}"), |b| {
            b.iter(|| inp.naive(black_box(header)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("tag_compare_32B");
    for (name, forged) in [
        ("wrong_first_byte", &inp.tag_wrong_first.0),
        ("wrong_last_byte", &inp.tag_wrong_last.0),
    ] {
        g.bench_function(format!("subtle_ct_eq/{name}"), |b| {
            b.iter(|| bool::from(black_box(&inp.tag.0[..]).ct_eq(black_box(&forged[..]))))
        });
        g.bench_function(format!("naive/{name}"), |b| {
            b.iter(|| naive_eq(black_box(&inp.tag.0), black_box(forged)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if std::env::args().any(|a| a == "--dudect") {
        std::process::exit(dudect::run(&Inputs::new()));
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// The dudect-style leak test.
mod dudect {
    use super::*;

    /// dudect's threshold: |t| above it is a detected leak.
    const THRESHOLD: f64 = 4.5;
    /// Percentiles (of both classes' times together) at which samples are cropped; 1.0 is none.
    const CROPS: [f64; 7] = [1.0, 0.999, 0.99, 0.95, 0.9, 0.75, 0.5];

    /// The header bytes as text (ASCII: the same work for every header of a length).
    fn text(h: &[u8]) -> &str {
        std::str::from_utf8(h).expect("ASCII header")
    }

    /// The buffer every sample's input is copied into.
    #[repr(align(64))]
    struct Scratch([u8; 128]);

    /// A small PRNG (xorshift64*) to pick each sample's class.
    struct Rng(u64);

    impl Rng {
        fn bit(&mut self) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 63) as usize
        }
    }

    /// Running mean and variance (Welford).
    #[derive(Default, Clone, Copy)]
    struct Moments {
        n: f64,
        mean: f64,
        m2: f64,
    }

    impl Moments {
        fn push(&mut self, x: f64) {
            self.n += 1.0;
            let d = x - self.mean;
            self.mean += d / self.n;
            self.m2 += d * (x - self.mean);
        }
        fn var(&self) -> f64 {
            if self.n > 1.0 {
                self.m2 / (self.n - 1.0)
            } else {
                0.0
            }
        }
    }

    /// Welch's t statistic of two samples, and the standard error of their means' difference.
    fn welch(a: &Moments, b: &Moments) -> (f64, f64) {
        let se = (a.var() / a.n + b.var() / b.n).sqrt();
        if se == 0.0 {
            (0.0, 0.0)
        } else {
            ((a.mean - b.mean) / se, se)
        }
    }

    /// One subject's result.
    struct Outcome {
        max_t: f64,
        /// The smallest standard error over the crops: a difference of THRESHOLD × it between
        /// the classes' means would have been detected.
        min_se: f64,
        crop: f64,
        means: [f64; 2],
        n: [usize; 2],
    }

    /// Times `f` on inputs of class 0 and 1 in random interleaved order, `per_class` samples of
    /// each (about), and tests whether the two classes' times differ. Each sample first copies
    /// its class's input into one and the same buffer (untimed), so the classes differ in the
    /// bytes only, never in where they sit in memory.
    fn measure(inputs: [&[u8]; 2], per_class: usize, f: impl Fn(&[u8]) -> bool) -> Outcome {
        assert_eq!(inputs[0].len(), inputs[1].len());
        let mut buf = Scratch([0; 128]);
        let buf = &mut buf.0[..inputs[0].len()];
        // Warm caches, branch predictors and the CPU's clock.
        for i in 0..20_000 {
            buf.copy_from_slice(inputs[i % 2]);
            black_box(f(black_box(&*buf)));
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut samples: Vec<(usize, f64)> = Vec::with_capacity(2 * per_class);
        for _ in 0..2 * per_class {
            let class = rng.bit();
            buf.copy_from_slice(inputs[class]);
            let input = black_box(&*buf);
            let start = Instant::now();
            let r = f(input);
            let elapsed = start.elapsed();
            black_box(r);
            samples.push((class, elapsed.as_nanos() as f64));
        }
        let mut sorted: Vec<f64> = samples.iter().map(|s| s.1).collect();
        sorted.sort_by(f64::total_cmp);
        let mut best = Outcome {
            max_t: 0.0,
            min_se: f64::INFINITY,
            crop: 1.0,
            means: [0.0; 2],
            n: [0; 2],
        };
        for crop in CROPS {
            let idx = ((sorted.len() as f64 * crop) as usize).min(sorted.len() - 1);
            let cut = sorted[idx];
            let mut m = [Moments::default(); 2];
            for &(class, t) in &samples {
                if crop == 1.0 || t < cut {
                    m[class].push(t);
                }
            }
            let (t, se) = welch(&m[0], &m[1]);
            // A crop whose times are all equal (the clock's granularity) tests nothing.
            let min_se = if se > 0.0 {
                best.min_se.min(se)
            } else {
                best.min_se
            };
            best.min_se = min_se;
            if crop == 1.0 || t.abs() > best.max_t {
                best = Outcome {
                    max_t: t.abs(),
                    min_se,
                    crop,
                    means: [m[0].mean, m[1].mean],
                    n: [m[0].n as usize, m[1].n as usize],
                };
            }
        }
        best
    }

    fn report(name: &str, o: &Outcome) -> bool {
        let leak = o.max_t >= THRESHOLD;
        let crop = if o.crop == 1.0 {
            "all samples".to_owned()
        } else {
            format!("below p{}", o.crop * 100.0)
        };
        println!(
            "{name:<34} max |t| = {:>7.2} ({crop}; n = {} + {}; mean first-byte-wrong {:.1} ns, last-byte-wrong {:.1} ns; a difference of {:.2} ns would show): {}",
            o.max_t,
            o.n[0],
            o.n[1],
            o.means[0],
            o.means[1],
            THRESHOLD * o.min_se,
            if leak {
                "LEAK DETECTED"
            } else {
                "no leak detected"
            }
        );
        leak
    }

    /// Runs every subject; returns the process exit status (see the module docs).
    pub fn run(inp: &Inputs) -> i32 {
        let per_class = std::env::var("MOMENTS_DUDECT_SAMPLES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_000_000usize);
        println!(
            "dudect: {per_class} samples per class, classes interleaved at random; |t| < {THRESHOLD}: no leak detected"
        );
        let headers = [inp.wrong_first.as_bytes(), inp.wrong_last.as_bytes()];
        let tags = [&inp.tag_wrong_first.0[..], &inp.tag_wrong_last.0[..]];
        let tag = &inp.tag.0[..];

        let sdk = measure(headers, per_class, |h| inp.sdk(text(h)));
        let sdk_leaks = report("sdk verify (1 KiB payload)", &sdk);
        let naive = measure(headers, per_class, |h| inp.naive(text(h)));
        let naive_leaks = report("naive verify (control)", &naive);
        let ct = measure(tags, per_class, |t| bool::from(tag.ct_eq(t)));
        let ct_leaks = report("subtle ct_eq alone (32 B)", &ct);
        let loop_ = measure(tags, per_class, |t| naive_eq(tag, t));
        let loop_leaks = report("early-exit loop alone (control)", &loop_);

        if sdk_leaks || ct_leaks {
            println!("verdict: the SDK's comparison time depends on the forged bytes");
            1
        } else if !naive_leaks || !loop_leaks {
            println!("verdict: a control's known leak was not detected; too noisy to judge");
            2
        } else {
            println!("verdict: no leak detected in the SDK; both controls' leaks detected");
            0
        }
    }
}
