//! Server-sent events: a timed reply as `data: {chunk}` frames and `[DONE]`.

use std::time::Duration;

use hyper::body::Bytes;
use serde_json::Value;

use crate::engine::ReplyPlan;
use crate::wire::{self, Envelope};

/// The last frame of a stream that ended normally.
pub(crate) const DONE: &[u8] = b"data: [DONE]\n\n";

/// One SSE frame holding a JSON chunk.
pub(crate) fn frame(chunk: &Value) -> Bytes {
    let mut bytes = Vec::with_capacity(256);
    bytes.extend_from_slice(b"data: ");
    // Serialising a `Value` cannot fail; an empty object is the safe fallback.
    if serde_json::to_writer(&mut bytes, chunk).is_err() {
        bytes.extend_from_slice(b"{}");
    }
    bytes.extend_from_slice(b"\n\n");
    Bytes::from(bytes)
}

/// The frames of a reply, each with its offset from the request's arrival;
/// the second value is when the connection drops, for a disconnect.
pub(crate) fn frames(
    envelope: &Envelope,
    reply: &ReplyPlan,
    include_usage: bool,
) -> (Vec<(Duration, Bytes)>, Option<Duration>) {
    let mut frames = Vec::with_capacity(reply.chunks.len() + 4);
    frames.push((
        reply.role_at,
        frame(&wire::role_chunk(
            envelope,
            reply.text_first(),
            include_usage,
        )),
    ));
    let keep = reply.disconnect_after.unwrap_or(usize::MAX);
    for (at, event) in reply.chunks.iter().take(keep) {
        if let Some(chunk) = wire::event_chunk(envelope, event, include_usage) {
            frames.push((*at, frame(&chunk)));
        }
    }
    if let Some(drop) = reply.drop_at() {
        return (frames, Some(drop));
    }
    if let Some(reason) = reply.response.finish_reason {
        frames.push((
            reply.end,
            frame(&wire::finish_chunk(envelope, reason, include_usage)),
        ));
    }
    if include_usage && let Some(usage) = reply.response.usage {
        frames.push((reply.end, frame(&wire::usage_chunk(envelope, usage))));
    }
    frames.push((reply.end, Bytes::from_static(DONE)));
    (frames, None)
}
