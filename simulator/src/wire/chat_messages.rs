//! The common conversation read by hand: system and user messages whose
//! content is a string, the first turn of nearly every request. serde's
//! reading of `Message` (an enum tagged by `role`) buffers each message
//! before it knows its variant, which costs more than all the rest of a
//! small request's body; this reads the same messages in one pass, and
//! leaves anything else (another role, a list of parts, another key) to
//! serde, so what it takes reads exactly as serde reads it.

use toolcall_runtime::Message;

use super::json_scan::Scan;

/// The conversation at the start of `text` and the length of its JSON
/// text, when every message is `{"role": "system" | "user", "content":
/// "..."}` (keys in either order); `None` for anything else.
pub(crate) fn simple_messages(text: &str) -> Option<(Vec<Message>, usize)> {
    let mut scan = Scan::new(text);
    let mut messages = Vec::new();
    scan.array(|scan| {
        let (mut role, mut content) = (None, None);
        scan.object(|scan, key| {
            let slot = match key {
                "role" => &mut role,
                "content" => &mut content,
                _ => return None,
            };
            // serde refuses a repeated key: so does the caller, then.
            if slot.replace(scan.string()?).is_some() {
                return None;
            }
            Some(())
        })?;
        let content = content?;
        messages.push(match role.as_deref()? {
            "system" => Message::system(content),
            "user" => Message::user(content.into_owned()),
            _ => return None,
        });
        Some(())
    })?;
    Some((messages, scan.offset()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde's reading of the conversation at the start of `text`, and its length.
    fn by_serde(text: &str) -> Option<(Vec<Message>, usize)> {
        let mut read = serde_json::Deserializer::from_str(text).into_iter::<Vec<Message>>();
        let messages = read.next()?.ok()?;
        Some((messages, read.byte_offset()))
    }

    #[test]
    fn reads_what_it_takes_as_serde_does() {
        for text in [
            r#"[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]"#,
            r#" [ { "content" : "Hi" , "role" : "user" } ] , "model": "m""#,
            r#"[{"role":"user","content":"line\none \"quoted\" \u00e9 \ud83d\ude00"}]"#,
            r#"[{"role":"user","content":""}]"#,
            "[]",
        ] {
            let ours = simple_messages(text.trim_start());
            assert!(ours.is_some(), "{text}");
            assert_eq!(ours, by_serde(text.trim_start()), "{text}");
        }
    }

    #[test]
    fn leaves_everything_else_to_serde() {
        for text in [
            // Other roles, content that is not a string, other keys.
            r#"[{"role":"assistant","content":"Hi"}]"#,
            r#"[{"role":"tool","tool_call_id":"c","content":"1"}]"#,
            r#"[{"role":"user","content":[{"type":"text","text":"Hi"}]}]"#,
            r#"[{"role":"user","content":null}]"#,
            r#"[{"role":"user","content":"Hi","name":"ann"}]"#,
            r#"[{"role":"User","content":"Hi"}]"#,
            // A message without a role or content, or with one twice.
            r#"[{"content":"Hi"}]"#,
            r#"[{"role":"user"}]"#,
            r#"[{"role":"user","content":"a","content":"b"}]"#,
            r#"[{"role":"user","role":"system","content":"a"}]"#,
            // Not JSON serde takes: a lone surrogate, a raw control character, a trailing comma.
            r#"[{"role":"user","content":"\ud800"}]"#,
            "[{\"role\":\"user\",\"content\":\"a\u{1}\"}]",
            r#"[{"role":"user","content":"a"},]"#,
            "[1]",
            "{}",
        ] {
            assert_eq!(simple_messages(text), None, "{text}");
        }
    }
}
