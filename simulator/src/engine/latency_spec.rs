//! Latencies written as short text, as the `toolcall-sim` binary takes them:
//! `fixed:200ms`, `uniform:100ms..300ms`, `normal:200ms,50ms`,
//! `lognormal:400ms,0.5`, `empirical:120ms,180ms,400ms`, `zero`, or a bare
//! duration (`250ms`, `1.5s`, `800us`), which is fixed.
//!
//! A [`ModelLatency`] is `TTFT` or `TTFT/PER_TOKEN` (time to first token, then
//! the wait before each later chunk), or `realistic`:
//!
//! ```
//! use std::time::Duration;
//! use toolcall_sim::{Latency, ModelLatency};
//!
//! let model: ModelLatency = "lognormal:400ms,0.4/fixed:20ms".parse().unwrap();
//! assert_eq!(model.per_token, Latency::fixed(Duration::from_millis(20)));
//! ```

use std::str::FromStr;

use crate::engine::latency::{Latency, ModelLatency};

/// The forms a latency can take, for error messages and `--help`.
const FORMS: &str = "zero, fixed:200ms (or just 200ms), uniform:100ms..300ms, normal:200ms,50ms, lognormal:400ms,0.5 (median, sigma), empirical:120ms,180ms,400ms; units ms, s, us";

/// A latency written wrongly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencySpecError {
    /// The text as given.
    pub spec: String,
    /// What is wrong with it.
    pub problem: String,
}

impl LatencySpecError {
    fn new(spec: &str, problem: impl Into<String>) -> Self {
        LatencySpecError {
            spec: spec.to_owned(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for LatencySpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid latency `{}`: {}; expected {FORMS}",
            self.spec, self.problem
        )
    }
}

impl std::error::Error for LatencySpecError {}

/// A duration in milliseconds: a non-negative number and a unit.
pub(crate) fn duration_ms(text: &str, spec: &str) -> Result<f64, LatencySpecError> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("us").or_else(|| text.strip_suffix("µs")) {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else if text == "0" {
        (text, 1.0)
    } else {
        return Err(LatencySpecError::new(
            spec,
            format!("`{text}` needs a unit (ms, s or us)"),
        ));
    };
    let value = number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| {
            LatencySpecError::new(spec, format!("`{text}` is not a non-negative duration"))
        })?;
    Ok(value * scale)
}

/// Exactly `n` comma-separated arguments.
fn arguments<'a>(
    args: &'a str,
    n: usize,
    what: &str,
    spec: &str,
) -> Result<Vec<&'a str>, LatencySpecError> {
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    if parts.len() == n && parts.iter().all(|p| !p.is_empty()) {
        Ok(parts)
    } else {
        Err(LatencySpecError::new(spec, format!("expected {what}")))
    }
}

impl FromStr for Latency {
    type Err = LatencySpecError;

    fn from_str(spec: &str) -> Result<Latency, LatencySpecError> {
        let text = spec.trim();
        let Some((kind, args)) = text.split_once(':') else {
            return match text.to_ascii_lowercase().as_str() {
                "zero" | "none" => Ok(Latency::Zero),
                "" => Err(LatencySpecError::new(spec, "it is empty")),
                _ => Ok(Latency::Fixed {
                    ms: duration_ms(text, spec)?,
                }),
            };
        };
        match kind.trim().to_ascii_lowercase().as_str() {
            "fixed" => Ok(Latency::Fixed {
                ms: duration_ms(args, spec)?,
            }),
            "uniform" => {
                let (min, max) = args
                    .split_once("..")
                    .or_else(|| args.split_once(','))
                    .ok_or_else(|| LatencySpecError::new(spec, "expected uniform:MIN..MAX"))?;
                let (min_ms, max_ms) = (duration_ms(min, spec)?, duration_ms(max, spec)?);
                if min_ms > max_ms {
                    return Err(LatencySpecError::new(
                        spec,
                        "the minimum is above the maximum",
                    ));
                }
                Ok(Latency::Uniform { min_ms, max_ms })
            }
            "normal" => {
                let parts = arguments(args, 2, "normal:MEAN,STD_DEV", spec)?;
                Ok(Latency::Normal {
                    mean_ms: duration_ms(parts[0], spec)?,
                    std_dev_ms: duration_ms(parts[1], spec)?,
                })
            }
            "lognormal" | "log-normal" | "log_normal" => {
                let parts = arguments(args, 2, "lognormal:MEDIAN,SIGMA", spec)?;
                let sigma = parts[1]
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| {
                        LatencySpecError::new(
                            spec,
                            format!(
                                "sigma `{}` is not a non-negative number (0.5 is a moderate tail)",
                                parts[1]
                            ),
                        )
                    })?;
                Ok(Latency::LogNormal {
                    median_ms: duration_ms(parts[0], spec)?,
                    sigma,
                })
            }
            "empirical" => {
                let samples_ms = args
                    .split(',')
                    .map(|s| duration_ms(s, spec))
                    .collect::<Result<Vec<f64>, _>>()?;
                Ok(Latency::Empirical { samples_ms })
            }
            other => Err(LatencySpecError::new(
                spec,
                format!("unknown kind `{other}`"),
            )),
        }
    }
}

impl FromStr for ModelLatency {
    type Err = LatencySpecError;

    /// `TTFT`, `TTFT/PER_TOKEN` or `realistic`.
    fn from_str(spec: &str) -> Result<ModelLatency, LatencySpecError> {
        let text = spec.trim();
        if text.eq_ignore_ascii_case("realistic") {
            return Ok(ModelLatency::realistic());
        }
        let (first, per_token) = match text.split_once('/') {
            Some((first, per_token)) => (first, Some(per_token)),
            None => (text, None),
        };
        let wrap = |error: LatencySpecError| LatencySpecError::new(spec, error.problem);
        Ok(ModelLatency {
            time_to_first_token: first.parse().map_err(wrap)?,
            per_token: match per_token {
                Some(text) => text.parse().map_err(wrap)?,
                None => Latency::Zero,
            },
        })
    }
}
