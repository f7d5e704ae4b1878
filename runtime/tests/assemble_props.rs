//! Any split and interleaving of the same calls assembles to the same calls,
//! and garbage never panics and still gets one result per call.

mod common;

use common::{Scripted, paused_runtime};
use proptest::prelude::*;
use serde_json::{Value, json};
use toolcall_runtime::stream::CallAssembler;
use toolcall_runtime::{EventStream, StreamEvent, ToolCall, ToolCallDelta, ToolSet};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
        // Characters that trip naive scanners: braces and quotes in strings.
        "[{}\\[\\]\"\\\\]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn calls() -> impl Strategy<Value = Vec<ToolCall>> {
    prop::collection::vec(
        (
            "[a-z_]{1,10}",
            prop::collection::btree_map("[a-z]{1,5}", json_value(), 0..4),
        ),
        1..6,
    )
    .prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (name, fields))| {
                let args = Value::Object(fields.into_iter().collect());
                ToolCall::new(format!("call_{i}"), name, args.to_string())
            })
            .collect()
    })
}

/// Split each call's arguments at random points, then interleave the calls'
/// fragments at random, keeping each call's fragments in order and the calls'
/// first fragments in call order (as every server does).
fn stream_of(
    calls: &[ToolCall],
    cuts: &[usize],
    picks: &[usize],
    reuse_index: bool,
) -> Vec<StreamEvent> {
    let mut queues: Vec<Vec<ToolCallDelta>> = calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let chars: Vec<char> = call.arguments.chars().collect();
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (chars.len() + 1)).collect();
            points.extend([0, chars.len()]);
            points.sort_unstable();
            points.dedup();
            let mut pieces: Vec<ToolCallDelta> = points
                .windows(2)
                .map(|w| ToolCallDelta {
                    index: if reuse_index { 0 } else { i as u32 },
                    id: None,
                    name: None,
                    arguments: Some(chars[w[0]..w[1]].iter().collect()),
                })
                .collect();
            if pieces.is_empty() {
                pieces.push(ToolCallDelta {
                    index: i as u32,
                    ..Default::default()
                });
            }
            pieces[0].id = Some(call.id.to_string());
            pieces[0].name = Some(call.name.to_string());
            pieces.reverse();
            pieces
        })
        .collect();
    let mut events = Vec::new();
    let mut begun = 0;
    let mut pick = picks.iter().cycle();
    while queues.iter().any(|q| !q.is_empty()) {
        // A server that reuses index 0 cannot interleave: one call at a time.
        let open: Vec<usize> = if reuse_index {
            vec![queues.iter().position(|q| !q.is_empty()).unwrap_or(0)]
        } else {
            (0..=begun.min(queues.len() - 1))
                .filter(|&i| !queues[i].is_empty())
                .collect()
        };
        let i = open[pick.next().copied().unwrap_or(0) % open.len()];
        if let Some(delta) = queues[i].pop() {
            events.push(StreamEvent::ToolCall(delta));
        }
        if i == begun {
            begun += 1;
        }
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_split_and_interleaving_assembles_the_same_calls(
        calls in calls(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        picks in prop::collection::vec(any::<usize>(), 1..16),
        reuse_index in any::<bool>(),
    ) {
        let mut assembler = CallAssembler::new();
        let mut handed = Vec::new();
        for event in stream_of(&calls, &cuts, &picks, reuse_index) {
            assembler.push(event);
            handed.extend(assembler.take_ready());
        }
        // Every call's arguments are a JSON object: each is handed out as soon
        // as it closes, before the stream ends.
        prop_assert_eq!(&handed, &calls);
        prop_assert!(assembler.take_rest().is_empty());
        prop_assert_eq!(assembler.into_response().tool_calls, calls);
    }

    #[test]
    fn garbage_never_panics_and_every_call_gets_one_result(
        deltas in prop::collection::vec(
            (0u32..4, prop::option::of("[a-c]{0,2}"), prop::option::of("work|nope|"), prop::option::of("[ -~]{0,8}")),
            0..24,
        ),
    ) {
        let events: Vec<StreamEvent> = deltas
            .into_iter()
            .map(|(index, id, name, arguments)| StreamEvent::ToolCall(ToolCallDelta { index, id, name, arguments }))
            .collect();
        let tools = ToolSet::builder().add(Scripted::new("work")).build().expect("tools");
        let stream: EventStream<'static> =
            Box::pin(futures_util::stream::iter(events.into_iter().map(Ok)));
        let turn = paused_runtime().block_on(async { tools.dispatch_stream(stream).await });
        prop_assert_eq!(turn.batch.results.len(), turn.response.tool_calls.len());
        for (call, result) in turn.response.tool_calls.iter().zip(&turn.batch.results) {
            prop_assert_eq!(&call.id, &result.call_id);
        }
    }
}

#[test]
fn a_single_call_in_one_fragment() {
    let mut assembler = CallAssembler::new();
    assembler.push(StreamEvent::ToolCall(ToolCallDelta {
        index: 0,
        id: Some("a".into()),
        name: Some("f".into()),
        arguments: Some(json!({"x": "}{"}).to_string()),
    }));
    assert_eq!(assembler.take_ready().len(), 1);
}

#[test]
fn a_call_waits_for_its_id_and_a_late_fragment_spoils_a_running_call() {
    let delta = |id: Option<&str>, args: Option<&str>| {
        StreamEvent::ToolCall(ToolCallDelta {
            index: 1,
            id: id.map(str::to_owned),
            name: Some("f".into()),
            arguments: args.map(str::to_owned),
        })
    };
    let mut assembler = CallAssembler::new();
    assembler.push(delta(None, Some("{}")));
    assert!(assembler.take_ready().is_empty(), "no id yet");
    assembler.push(delta(Some("a"), None));
    let ready = assembler.take_ready();
    assert_eq!(ready, [ToolCall::new("a", "f", "{}")]);
    // Whitespace after the arguments changes nothing.
    assembler.push(delta(None, Some(" \n")));
    assert!(assembler.take_spoiled().is_empty());
    // Anything else: the call ran with less than the model sent; it is
    // reported once, with the whole text, which the reply keeps.
    assembler.push(delta(None, Some("garbage")));
    let spoiled = assembler.take_spoiled();
    assert_eq!(spoiled, [(0, ToolCall::new("a", "f", "{}garbage"))]);
    assert!(assembler.take_spoiled().is_empty());
    assert_eq!(
        assembler.into_response().tool_calls,
        [ToolCall::new("a", "f", "{}garbage")]
    );
}
