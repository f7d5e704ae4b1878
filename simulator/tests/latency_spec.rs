//! Latencies written as text (`--model-latency`): every form, and the mistakes.

use std::time::Duration;

use toolcall_sim::{Latency, LatencySpecError, ModelLatency};

fn latency(spec: &str) -> Latency {
    spec.parse()
        .unwrap_or_else(|e| panic!("`{spec}` should parse: {e}"))
}

#[test]
fn every_kind() {
    assert_eq!(latency("fixed:200ms"), Latency::fixed_ms(200));
    assert_eq!(latency("200ms"), Latency::fixed_ms(200));
    assert_eq!(latency(" 1.5s "), Latency::fixed_ms(1500));
    assert_eq!(
        latency("fixed:250us"),
        Latency::fixed(Duration::from_micros(250))
    );
    assert_eq!(latency("zero"), Latency::Zero);
    assert_eq!(latency("none"), Latency::Zero);
    assert_eq!(latency("0"), Latency::Fixed { ms: 0.0 });
    assert_eq!(
        latency("uniform:100ms..300ms"),
        Latency::uniform(Duration::from_millis(100), Duration::from_millis(300))
    );
    assert_eq!(
        latency("uniform:100ms,0.3s"),
        latency("uniform:100ms..300ms")
    );
    assert_eq!(
        latency("normal:200ms,50ms"),
        Latency::normal(Duration::from_millis(200), Duration::from_millis(50))
    );
    assert_eq!(
        latency("lognormal:400ms,0.5"),
        Latency::lognormal(Duration::from_millis(400), 0.5)
    );
    assert_eq!(
        latency("LogNormal:400ms, 0.5"),
        latency("lognormal:400ms,0.5")
    );
    assert_eq!(
        latency("empirical:120ms,180ms,1s"),
        Latency::empirical([120, 180, 1000].map(Duration::from_millis))
    );
}

#[test]
fn model_latency_is_ttft_then_per_token() {
    let model: ModelLatency = "lognormal:400ms,0.4/normal:20ms,5ms"
        .parse()
        .expect("parses");
    assert_eq!(
        model,
        ModelLatency::new(
            Latency::lognormal(Duration::from_millis(400), 0.4),
            Latency::normal(Duration::from_millis(20), Duration::from_millis(5)),
        )
    );
    let ttft_only: ModelLatency = "300ms".parse().expect("parses");
    assert_eq!(
        ttft_only,
        ModelLatency::new(Latency::fixed_ms(300), Latency::Zero)
    );
    let realistic: ModelLatency = "realistic".parse().expect("parses");
    assert_eq!(realistic, ModelLatency::realistic());
}

#[test]
fn mistakes_say_what_is_wrong() {
    for (spec, needle) in [
        ("", "empty"),
        ("200", "needs a unit"),
        ("fixed:", "needs a unit"),
        ("fixed:-5ms", "not a non-negative duration"),
        ("fixed:NaNms", "not a non-negative duration"),
        ("fast", "needs a unit"),
        ("gamma:1ms,2ms", "unknown kind `gamma`"),
        ("uniform:300ms", "uniform:MIN..MAX"),
        ("uniform:300ms..100ms", "minimum is above the maximum"),
        ("normal:200ms", "normal:MEAN,STD_DEV"),
        ("normal:200ms,50ms,1ms", "normal:MEAN,STD_DEV"),
        ("lognormal:400ms,wide", "sigma `wide`"),
        ("empirical:1ms,,2ms", "needs a unit"),
    ] {
        let error: LatencySpecError = spec
            .parse::<Latency>()
            .expect_err(&format!("`{spec}` must not parse"));
        assert_eq!(error.spec, spec);
        assert!(
            error.problem.contains(needle),
            "`{spec}`: {}",
            error.problem
        );
        let shown = error.to_string();
        assert!(shown.contains(&format!("`{spec}`")), "{shown}");
        assert!(
            shown.contains("uniform:100ms..300ms"),
            "lists the forms: {shown}"
        );
    }
    let error = "200ms/fast"
        .parse::<ModelLatency>()
        .expect_err("the per-token part is wrong");
    assert_eq!(error.spec, "200ms/fast");
    assert!(error.problem.contains("`fast`"), "{}", error.problem);
}
