//! Latency models: how long a model or a tool takes, drawn from a seeded
//! generator so that a seed replays the same timings.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::rng::SimRng;

/// A distribution of delays, in milliseconds on the wire (`{"kind": "fixed", "ms": 200}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    /// No delay.
    #[default]
    Zero,
    /// Always the same delay.
    Fixed {
        /// The delay.
        ms: f64,
    },
    /// Uniform between two delays.
    Uniform {
        /// The shortest delay.
        min_ms: f64,
        /// The longest delay.
        max_ms: f64,
    },
    /// Normal, cut at zero.
    Normal {
        /// The mean.
        mean_ms: f64,
        /// The standard deviation.
        std_dev_ms: f64,
    },
    /// Log-normal: `median * exp(sigma * z)`, the long right tail of real APIs.
    LogNormal {
        /// The median.
        median_ms: f64,
        /// The spread of the underlying normal.
        sigma: f64,
    },
    /// One of these recorded delays, each equally likely.
    Empirical {
        /// The samples.
        samples_ms: Vec<f64>,
    },
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn from_ms(ms: f64) -> Duration {
    if ms.is_finite() && ms > 0.0 {
        // Whole nanoseconds, so that fixed delays in ms stay exact.
        Duration::from_nanos((ms * 1_000_000.0).round() as u64)
    } else {
        Duration::ZERO
    }
}

impl Latency {
    /// Always `delay`.
    pub fn fixed(delay: Duration) -> Self {
        Latency::Fixed { ms: ms(delay) }
    }

    /// Always `ms` milliseconds.
    pub fn fixed_ms(ms: u64) -> Self {
        Latency::Fixed { ms: ms as f64 }
    }

    /// Uniform in `[min, max]`.
    pub fn uniform(min: Duration, max: Duration) -> Self {
        Latency::Uniform {
            min_ms: ms(min),
            max_ms: ms(max),
        }
    }

    /// Normal with this mean and standard deviation, never below zero.
    pub fn normal(mean: Duration, std_dev: Duration) -> Self {
        Latency::Normal {
            mean_ms: ms(mean),
            std_dev_ms: ms(std_dev),
        }
    }

    /// Log-normal with this median and `sigma` (0.5 is a moderate tail).
    pub fn lognormal(median: Duration, sigma: f64) -> Self {
        Latency::LogNormal {
            median_ms: ms(median),
            sigma,
        }
    }

    /// One of these samples, uniformly.
    pub fn empirical(samples: impl IntoIterator<Item = Duration>) -> Self {
        Latency::Empirical {
            samples_ms: samples.into_iter().map(ms).collect(),
        }
    }

    /// Draw one delay.
    pub fn sample(&self, rng: &mut SimRng) -> Duration {
        match self {
            Latency::Zero => Duration::ZERO,
            Latency::Fixed { ms } => from_ms(*ms),
            Latency::Uniform { min_ms, max_ms } => {
                let (lo, hi) = if min_ms <= max_ms {
                    (*min_ms, *max_ms)
                } else {
                    (*max_ms, *min_ms)
                };
                from_ms(lo + (hi - lo) * rng.next_f64())
            }
            Latency::Normal {
                mean_ms,
                std_dev_ms,
            } => from_ms(mean_ms + std_dev_ms * rng.standard_normal()),
            Latency::LogNormal { median_ms, sigma } => {
                from_ms(median_ms * (sigma * rng.standard_normal()).exp())
            }
            Latency::Empirical { samples_ms } => match samples_ms.len() {
                0 => Duration::ZERO,
                n => from_ms(samples_ms[rng.index(n)]),
            },
        }
    }

    /// Whether every draw is zero (lets callers skip a timer).
    pub fn is_zero(&self) -> bool {
        match self {
            Latency::Zero => true,
            Latency::Fixed { ms } => from_ms(*ms).is_zero(),
            _ => false,
        }
    }
}

impl From<Duration> for Latency {
    fn from(delay: Duration) -> Self {
        Latency::fixed(delay)
    }
}

/// The model's timing: the wait before the first chunk, then the wait per
/// chunk (one chunk is about one token).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelLatency {
    /// Time to first token: from the request to the role chunk.
    pub time_to_first_token: Latency,
    /// The wait before each later chunk.
    pub per_token: Latency,
}

impl ModelLatency {
    /// No delay at all (the default).
    pub fn zero() -> Self {
        ModelLatency::default()
    }

    /// This time to first token and this time per token.
    pub fn new(time_to_first_token: impl Into<Latency>, per_token: impl Into<Latency>) -> Self {
        ModelLatency {
            time_to_first_token: time_to_first_token.into(),
            per_token: per_token.into(),
        }
    }

    /// A hosted model on a good day: log-normal TTFT around 400 ms, about 50 tokens/s.
    pub fn realistic() -> Self {
        ModelLatency {
            time_to_first_token: Latency::lognormal(Duration::from_millis(400), 0.4),
            per_token: Latency::normal(Duration::from_millis(20), Duration::from_millis(5)),
        }
    }
}

/// Wait until `deadline` if it is still ahead. tokio's timer rounds a
/// deadline up to its next millisecond tick, so sleeping until "now" would
/// cost up to a millisecond of real time per reply (and per chunk).
pub(crate) async fn wait_until(deadline: tokio::time::Instant) {
    if deadline > tokio::time::Instant::now() {
        tokio::time::sleep_until(deadline).await;
    }
}

/// Wait until `delay` after `start`, a time already past (a request's
/// arrival): no delay, no clock to read (every reply and chunk of a
/// simulator without latencies).
pub(crate) async fn wait_after(start: tokio::time::Instant, delay: Duration) {
    if !delay.is_zero() {
        wait_until(start + delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_is_exact_and_distributions_stay_in_range() {
        let mut rng = SimRng::new(1);
        assert_eq!(
            Latency::fixed_ms(180).sample(&mut rng),
            Duration::from_millis(180)
        );
        assert_eq!(
            Latency::fixed(Duration::from_micros(1500)).sample(&mut rng),
            Duration::from_micros(1500)
        );
        let u = Latency::uniform(Duration::from_millis(10), Duration::from_millis(20));
        let n = Latency::normal(Duration::from_millis(5), Duration::from_millis(50));
        let e = Latency::empirical([Duration::from_millis(3), Duration::from_millis(9)]);
        let mut total = Duration::ZERO;
        for _ in 0..500 {
            let d = u.sample(&mut rng);
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(20));
            let _ = n.sample(&mut rng); // cut at zero: never panics
            let d = e.sample(&mut rng);
            assert!(d == Duration::from_millis(3) || d == Duration::from_millis(9));
            total += Latency::lognormal(Duration::from_millis(100), 0.5).sample(&mut rng);
        }
        let mean = total.as_secs_f64() * 1000.0 / 500.0;
        // The mean of a log-normal is median * exp(sigma^2 / 2) ≈ 113 ms.
        assert!((90.0..140.0).contains(&mean), "mean {mean}");
    }

    #[test]
    fn parses_from_json() {
        let l: Latency = serde_json::from_str(r#"{"kind": "uniform", "min_ms": 1, "max_ms": 2}"#)
            .expect("parse");
        assert_eq!(
            l,
            Latency::Uniform {
                min_ms: 1.0,
                max_ms: 2.0
            }
        );
    }
}
