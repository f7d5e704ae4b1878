//! Newline-delimited JSON-RPC over a byte stream (what stdio carries), as
//! rmcp's own transport reads it, except that no line goes unanswered: a
//! line over the server's limit or one that is not JSON gets a parse error
//! (`-32700`), JSON that is no JSON-RPC message an invalid request
//! (`-32600`), a request whose params rmcp cannot read invalid params
//! (`-32602`), each with the request's id when its start says it. (rmcp
//! drops such lines, and the client waits for an answer forever.)

use std::future::Future;
use std::sync::Arc;

use rmcp::model::{ErrorData, RequestId};
use rmcp::service::{RoleServer, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::runner::echo;

/// How much of an oversized line is kept to find its id in.
const ID_PREFIX: usize = 4096;

/// One connection's reading half and shared writing half.
pub(super) struct Lines<R, W> {
    read: BufReader<R>,
    /// The line read so far (kept across a cancelled `receive`).
    line: Vec<u8>,
    max: usize,
    /// Dropping the rest of an oversized line, until its newline.
    discarding: bool,
    write: Arc<Mutex<W>>,
    /// Error answers being written; `close` waits for them.
    answers: JoinSet<()>,
}

/// What one bounded read gave.
enum Read {
    Line,
    /// Over the limit: `line` holds its first bytes, the rest is dropped.
    Oversized,
    Eof,
}

impl<R, W> Lines<R, W>
where
    R: AsyncRead + Send + Unpin,
    W: AsyncWrite + Send + Unpin + 'static,
{
    pub(super) fn new(read: R, write: W, max: usize) -> Self {
        Lines {
            read: BufReader::new(read),
            line: Vec::new(),
            max,
            discarding: false,
            write: Arc::new(Mutex::new(write)),
            answers: JoinSet::new(),
        }
    }

    /// Read up to a newline without holding more than `max` bytes; cancel
    /// safe (what was read stays in `line` or is consumed as discarded).
    async fn read_line(&mut self) -> std::io::Result<Read> {
        loop {
            let available = self.read.fill_buf().await?;
            if available.is_empty() {
                return Ok(Read::Eof);
            }
            let newline = available.iter().position(|b| *b == b'\n');
            let take = newline.map_or(available.len(), |i| i + 1);
            let mut outcome = None;
            if self.discarding {
                if newline.is_some() {
                    self.discarding = false;
                }
            } else if self.line.len() + take > self.max {
                let keep = ID_PREFIX.saturating_sub(self.line.len()).min(take);
                self.line.extend_from_slice(&available[..keep]);
                self.discarding = newline.is_none();
                outcome = Some(Read::Oversized);
            } else {
                self.line.extend_from_slice(&available[..take]);
                if newline.is_some() {
                    outcome = Some(Read::Line);
                }
            }
            self.read.consume(take);
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
        }
    }

    /// The message on a line, or its error answered.
    fn parse(&mut self, line: &[u8]) -> Option<RxJsonRpcMessage<RoleServer>> {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        match serde_json::from_slice(text) {
            Ok(message) => return Some(message),
            Err(error) if error.is_syntax() || error.is_eof() => self.answer(
                ErrorData::parse_error(format!("not JSON: {error}"), None),
                leading_id(text),
            ),
            Err(error) => {
                let envelope = serde_json::from_slice::<Map<String, Value>>(text).ok();
                let method = envelope
                    .as_ref()
                    .and_then(|m| m.get("method"))
                    .and_then(Value::as_str);
                let has_id = envelope.as_ref().is_some_and(|m| m.contains_key("id"));
                let answer = match (method, has_id) {
                    // A notification is never answered, even one MCP does not know.
                    (Some(_), false) => return None,
                    // A request whose params rmcp cannot read (an array).
                    (Some(method), true) => ErrorData::invalid_params(
                        format!("invalid params for `{}`: {error}", echo(method)),
                        None,
                    ),
                    (None, _) => {
                        ErrorData::invalid_request(format!("not a JSON-RPC message: {error}"), None)
                    }
                };
                self.answer(answer, leading_id(text));
            }
        }
        None
    }

    /// Answer a line that got no message, on a task of its own so that a
    /// cancelled `receive` cannot lose it half-written.
    fn answer(&mut self, error: ErrorData, id: Option<RequestId>) {
        let message = TxJsonRpcMessage::<RoleServer>::error(error, id);
        let write = Arc::clone(&self.write);
        while self.answers.try_join_next().is_some() {}
        self.answers.spawn(async move {
            let _ = write_message(&write, &message).await;
        });
    }
}

async fn write_message<W: AsyncWrite + Unpin>(
    write: &Mutex<W>,
    message: &TxJsonRpcMessage<RoleServer>,
) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(message)?;
    bytes.push(b'\n');
    let mut write = write.lock().await;
    write.write_all(&bytes).await?;
    write.flush().await
}

impl<R, W> Transport<RoleServer> for Lines<R, W>
where
    R: AsyncRead + Send + Unpin,
    W: AsyncWrite + Send + Unpin + 'static,
{
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let write = Arc::clone(&self.write);
        async move { write_message(&write, &item).await }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let read = match self.read_line().await {
                Ok(read) => read,
                Err(error) => {
                    tracing::error!("reading the MCP client's messages failed: {error}");
                    return None;
                }
            };
            let line = std::mem::take(&mut self.line);
            let message = match read {
                Read::Eof => return None,
                Read::Oversized => {
                    let max = self.max;
                    self.answer(
                        ErrorData::parse_error(
                            format!(
                                "the message is longer than this server's limit of {max} bytes"
                            ),
                            None,
                        ),
                        leading_id(&line),
                    );
                    None
                }
                Read::Line => self.parse(&line),
            };
            // Keep the buffer's allocation for the next line.
            self.line = line;
            self.line.clear();
            if message.is_some() {
                return message;
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        while self.answers.join_next().await.is_some() {}
        self.write.lock().await.shutdown().await
    }
}

/// The `id` of the JSON object `text` starts with, when it comes before
/// anything unreadable (clients write it before the params).
pub(super) fn leading_id(text: &[u8]) -> Option<RequestId> {
    /// Puts the id in `found` and stops the parse there with an error, so
    /// that the rest of the text (cut short, or not JSON) is never read.
    struct Id<'a> {
        found: &'a mut Option<RequestId>,
    }
    impl<'de> Visitor<'de> for Id<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON-RPC message")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                if key == "id" {
                    *self.found = Some(map.next_value::<RequestId>()?);
                    return Err(serde::de::Error::custom("found"));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let mut found = None;
    let _ = serde_json::Deserializer::from_slice(text).deserialize_map(Id { found: &mut found });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_read_from_the_start_of_a_message() {
        let id = |text: &str| leading_id(text.as_bytes());
        assert_eq!(
            id(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"#),
            Some(RequestId::Number(7))
        );
        assert_eq!(
            id(r#"{"id":"a","params":[1,2"#),
            Some(RequestId::String("a".into()))
        );
        assert_eq!(id(r#"{"params":{"a":"#), None);
        assert_eq!(id("not json"), None);
    }
}
