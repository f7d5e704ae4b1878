//! Every shape of return type: `Serialize` values, `Result`s spelled
//! several ways, aliases of `Result`, `()`.
#![deny(warnings, unused_qualifications)]

use std::fmt;
use std::io;

use toolcall::{Outcome, ToolSet, tool};

/// An error with `Display`, and no `Serialize`.
#[derive(Debug)]
pub struct Oops;

impl fmt::Display for Oops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oops")
    }
}

/// An alias the macro cannot see through.
pub type Outcome2 = Result<u32, Oops>;

/// `io::Result<T>`: one generic argument.
#[tool]
fn io_result(fail: bool) -> io::Result<String> {
    if fail {
        Err(io::Error::other("disk"))
    } else {
        Ok("fine".into())
    }
}

/// `Result<T, E>` with an `E` that is `Display` and not `Serialize`.
#[tool]
async fn full_path(fail: bool) -> Result<Vec<u8>, Oops> {
    if fail { Err(Oops) } else { Ok(vec![1, 2]) }
}

/// An alias of `Result`, dispatched at run time.
#[tool]
async fn alias(fail: bool) -> Outcome2 {
    if fail { Err(Oops) } else { Ok(7) }
}

/// Nothing.
#[tool]
async fn unit(flag: bool) {
    let _ = flag;
}

/// A `&'static str`.
#[tool]
fn text(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

fn main() {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![io_result, full_path, alias, unit, text])
        .build()
        .expect("the tool set builds");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        for (name, fail, outcome, content) in [
            ("io_result", false, Outcome::Ok, "fine"),
            ("io_result", true, Outcome::ToolError, "error: disk"),
            ("full_path", false, Outcome::Ok, "[1,2]"),
            ("full_path", true, Outcome::ToolError, "error: oops"),
            ("alias", false, Outcome::Ok, "7"),
            ("alias", true, Outcome::ToolError, "error: oops"),
            ("unit", false, Outcome::Ok, "null"),
            ("text", true, Outcome::Ok, "yes"),
        ] {
            let key = if name == "unit" || name == "text" {
                "flag"
            } else {
                "fail"
            };
            let reply = tools.call(name, &format!(r#"{{"{key}": {fail}}}"#)).await;
            assert_eq!(
                (reply.outcome, reply.content.as_str()),
                (outcome, content),
                "{name}"
            );
        }
    });
}
