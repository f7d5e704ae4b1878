//! Dispatch's work a call without the clock: run a batch `reps` times, to
//! count instructions under callgrind (load-independent, unlike wall time).
//!
//! ```text
//! cargo bench --bench dispatch_instructions --no-run   # prints the binary's path
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null <binary> toolcall 1000 5
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null <binary> toolcall 1000 25
//! ```
//!
//! The difference of the two totals over 20,000 calls is the instructions a
//! call; `join_all` in place of `toolcall` gives the floor's. With no
//! arguments (as `cargo bench` runs it) it runs one small batch of each.

use std::hint::black_box;

mod common;
use common::{calls, echo_runtime};
#[path = "common/floor.rs"]
mod floor;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let which = args.next().unwrap_or_else(|| "both".to_owned());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let (rt, tools) = echo_runtime();
    let batch = calls(n);
    rt.block_on(async {
        for _ in 0..reps {
            if which != "join_all" {
                black_box(tools.dispatch(&batch).await);
            }
            if which != "toolcall" {
                black_box(floor::join_all_floor(&batch).await);
            }
        }
    });
}
