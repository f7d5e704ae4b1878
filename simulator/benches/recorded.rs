//! `toolcall_sim::bench` on the seed's clinical round (200, 180 and 150 ms,
//! as a recording or trace would give it): sequential against parallel in
//! real time, in the few lines a user writes for their own session.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use toolcall_sim::{Session, SessionCall, SessionRound, bench};

fn clinical(c: &mut Criterion) {
    let call = |name: &str, ms| SessionCall {
        id: format!("call_{name}"),
        name: name.into(),
        arguments: r#"{"patient_id":"P-00042"}"#.into(),
        latency: Duration::from_millis(ms),
        ready: None,
    };
    // In a user's bench: `Session::load("session.recording.json")`.
    let session = Session {
        rounds: vec![SessionRound {
            model_time: Duration::from_millis(300),
            calls: vec![
                call("get_demographics", 200),
                call("get_medications", 180),
                call("get_allergies", 150),
            ],
        }],
        notes: Vec::new(),
    };
    let (tools, calls) = bench::widest_round(&session).expect("recorded tools");
    bench::sequential_vs_parallel(c, "recorded_clinical_round", &tools, &calls);
}

criterion_group!(benches, clinical);
criterion_main!(benches);
