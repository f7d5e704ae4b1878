//! Content beyond plain text: the parts of a user turn (text, images,
//! documents, in order) and the extra parts of a tool result. One type,
//! [`ContentPart`], for both; each provider writes it in its own shape and
//! refuses, by name, a part its format cannot carry.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// The media type of a PDF, the document every provider reads.
pub const PDF: &str = "application/pdf";

/// One part of a message's content.
///
/// Serialised on its own (in a [`CallResult`](crate::CallResult)'s parts,
/// in a tool message's `parts`) it is tagged by `type`: `text`, `image`,
/// `image_url`, `document`, `document_url`. In a user message it takes the
/// Chat Completions shape (see [`Message`](crate::Message)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContentPart {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, inline.
    Image {
        /// The image bytes, base64-encoded.
        data: String,
        /// Its media type, such as `image/png`.
        mime_type: String,
    },
    /// An image the provider fetches from a URL.
    ImageUrl {
        /// An `http(s)` URL (a `data:` URL becomes [`ContentPart::Image`]
        /// through [`ContentPart::image_url`]).
        url: String,
    },
    /// A document (a PDF), inline.
    Document {
        /// The document's bytes, base64-encoded.
        data: String,
        /// Its media type, `application/pdf` for a PDF.
        mime_type: String,
        /// Its file name, for the formats that take one (a default is sent
        /// where the format requires it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A document (a PDF) the provider fetches from a URL.
    DocumentUrl {
        /// An `http(s)` URL.
        url: String,
    },
}

impl ContentPart {
    /// Text.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::Text { text: text.into() }
    }

    /// An image from its base64 text and media type.
    pub fn image(data_base64: impl Into<String>, mime_type: impl Into<String>) -> Self {
        ContentPart::Image {
            data: data_base64.into(),
            mime_type: mime_type.into(),
        }
    }

    /// An image from its bytes and media type.
    pub fn image_bytes(bytes: impl AsRef<[u8]>, mime_type: impl Into<String>) -> Self {
        ContentPart::image(BASE64.encode(bytes), mime_type)
    }

    /// An image at a URL; a base64 `data:` URL is read into an inline
    /// [`ContentPart::Image`], so every provider can send it.
    pub fn image_url(url: impl Into<String>) -> Self {
        let url = url.into();
        match parse_data_url(&url) {
            Some((mime_type, data)) => ContentPart::image(data, mime_type),
            None => ContentPart::ImageUrl { url },
        }
    }

    /// A document from its base64 text and media type.
    pub fn document(data_base64: impl Into<String>, mime_type: impl Into<String>) -> Self {
        ContentPart::Document {
            data: data_base64.into(),
            mime_type: mime_type.into(),
            name: None,
        }
    }

    /// A PDF from its base64 text.
    pub fn pdf(data_base64: impl Into<String>) -> Self {
        ContentPart::document(data_base64, PDF)
    }

    /// A PDF from its bytes.
    pub fn pdf_bytes(bytes: impl AsRef<[u8]>) -> Self {
        ContentPart::pdf(BASE64.encode(bytes))
    }

    /// A document (a PDF) at a URL; a base64 `data:` URL is read into an
    /// inline [`ContentPart::Document`].
    pub fn document_url(url: impl Into<String>) -> Self {
        let url = url.into();
        match parse_data_url(&url) {
            Some((mime_type, data)) => ContentPart::document(data, mime_type),
            None => ContentPart::DocumentUrl { url },
        }
    }

    /// The same part with this file name, when it is a document (other
    /// parts have no name and are returned as they are).
    pub fn named(mut self, file_name: impl Into<String>) -> Self {
        if let ContentPart::Document { name, .. } = &mut self {
            *name = Some(file_name.into());
        }
        self
    }

    /// The part's kind as its `type` tag names it (`text`, `image`,
    /// `image_url`, `document`, `document_url`), as refusals name it.
    pub fn kind(&self) -> &'static str {
        match self {
            ContentPart::Text { .. } => "text",
            ContentPart::Image { .. } => "image",
            ContentPart::ImageUrl { .. } => "image_url",
            ContentPart::Document { .. } => "document",
            ContentPart::DocumentUrl { .. } => "document_url",
        }
    }

    /// The text, when this is a text part.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentPart::Text { text } => Some(text),
            _ => None,
        }
    }
}

/// The content of a user turn: text, images and documents, in order.
///
/// Text converts into it, so `agent.run("hi")` and `Message::user("hi")`
/// read as they always did; a turn with an image or a PDF is built part by
/// part:
///
/// ```
/// use toolcall_runtime::{Content, Message};
///
/// let turn = Content::new()
///     .text("What does this chart show?")
///     .image_url("https://example.com/chart.png")
///     .pdf_base64("JVBERi0xLjQK");
/// assert_eq!(turn.parts().len(), 3);
/// let message = Message::user(turn);
/// # drop(message);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Content {
    parts: Vec<ContentPart>,
}

impl Content {
    /// No parts yet.
    pub fn new() -> Self {
        Content::default()
    }

    /// These parts, in order.
    pub fn from_parts(parts: impl IntoIterator<Item = ContentPart>) -> Self {
        Content {
            parts: parts.into_iter().collect(),
        }
    }

    /// Add a part.
    pub fn part(mut self, part: ContentPart) -> Self {
        self.parts.push(part);
        self
    }

    /// Add text.
    pub fn text(self, text: impl Into<String>) -> Self {
        self.part(ContentPart::text(text))
    }

    /// Add an image at a URL (or in a base64 `data:` URL).
    pub fn image_url(self, url: impl Into<String>) -> Self {
        self.part(ContentPart::image_url(url))
    }

    /// Add an image from its base64 text and media type (`image/png`...).
    pub fn image_base64(self, data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        self.part(ContentPart::image(data, mime_type))
    }

    /// Add an image from its bytes and media type.
    pub fn image_bytes(self, bytes: impl AsRef<[u8]>, mime_type: impl Into<String>) -> Self {
        self.part(ContentPart::image_bytes(bytes, mime_type))
    }

    /// Add a document (a PDF) at a URL.
    pub fn document_url(self, url: impl Into<String>) -> Self {
        self.part(ContentPart::document_url(url))
    }

    /// Add a PDF from its base64 text.
    pub fn pdf_base64(self, data: impl Into<String>) -> Self {
        self.part(ContentPart::pdf(data))
    }

    /// Add a PDF from its bytes.
    pub fn pdf_bytes(self, bytes: impl AsRef<[u8]>) -> Self {
        self.part(ContentPart::pdf_bytes(bytes))
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[ContentPart] {
        &self.parts
    }

    /// The parts, owned.
    pub fn into_parts(self) -> Vec<ContentPart> {
        self.parts
    }

    /// Whether every part is text (a plain text turn).
    pub fn is_text(&self) -> bool {
        self.parts
            .iter()
            .all(|p| matches!(p, ContentPart::Text { .. }))
    }

    /// The text parts, joined (images and documents left out): borrowed
    /// when there is one text part.
    pub fn to_text(&self) -> Cow<'_, str> {
        let mut texts = self.parts.iter().filter_map(ContentPart::as_text);
        match (texts.next(), texts.next()) {
            (None, _) => Cow::Borrowed(""),
            (Some(one), None) => Cow::Borrowed(one),
            (Some(first), Some(second)) => {
                let mut joined = format!("{first}{second}");
                texts.for_each(|t| joined.push_str(t));
                Cow::Owned(joined)
            }
        }
    }
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Content {
            parts: vec![ContentPart::Text { text }],
        }
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Content::from(text.to_owned())
    }
}

impl From<&String> for Content {
    fn from(text: &String) -> Self {
        Content::from(text.clone())
    }
}

impl From<Cow<'_, str>> for Content {
    fn from(text: Cow<'_, str>) -> Self {
        Content::from(text.into_owned())
    }
}

impl From<Box<str>> for Content {
    fn from(text: Box<str>) -> Self {
        Content::from(String::from(text))
    }
}

impl From<ContentPart> for Content {
    fn from(part: ContentPart) -> Self {
        Content { parts: vec![part] }
    }
}

impl From<Vec<ContentPart>> for Content {
    fn from(parts: Vec<ContentPart>) -> Self {
        Content { parts }
    }
}

impl<const N: usize> From<[ContentPart; N]> for Content {
    fn from(parts: [ContentPart; N]) -> Self {
        Content::from_parts(parts)
    }
}

impl FromIterator<ContentPart> for Content {
    fn from_iter<I: IntoIterator<Item = ContentPart>>(iter: I) -> Self {
        Content::from_parts(iter)
    }
}

impl Extend<ContentPart> for Content {
    fn extend<I: IntoIterator<Item = ContentPart>>(&mut self, iter: I) {
        self.parts.extend(iter);
    }
}

/// A tool result's text with the text of its parts after it, one per
/// line: what a format whose results are text alone (Chat, Gemini's
/// `response`) sends as the text.
#[cfg_attr(not(any(feature = "openai", feature = "gemini")), allow(dead_code))]
pub(crate) fn joined_text<'a>(content: &'a str, parts: &[ContentPart]) -> Cow<'a, str> {
    let mut texts = parts.iter().filter_map(ContentPart::as_text).peekable();
    if texts.peek().is_none() {
        return Cow::Borrowed(content);
    }
    let mut joined = content.to_owned();
    for text in texts {
        joined.push('\n');
        joined.push_str(text);
    }
    Cow::Owned(joined)
}

/// `data:{mime};base64,{data}`, as Chat and Responses take inline media.
pub(crate) fn data_url(mime_type: &str, data: &str) -> String {
    format!("data:{mime_type};base64,{data}")
}

/// The media type and base64 data of a `data:{mime};base64,{data}` URL.
pub(crate) fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (head, data) = rest.split_once(',')?;
    let mime_type = head.strip_suffix(";base64")?;
    Some((mime_type, data))
}

/// The file name sent for a document where a format requires one.
#[cfg_attr(
    not(any(feature = "openai", feature = "openai-responses")),
    allow(dead_code)
)]
pub(crate) fn file_name<'a>(name: &'a Option<String>, mime_type: &str) -> Cow<'a, str> {
    match name {
        Some(name) => Cow::Borrowed(name),
        None if mime_type == PDF => Cow::Borrowed("document.pdf"),
        None => Cow::Borrowed("document"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_url_is_read_into_an_inline_part() {
        assert_eq!(
            ContentPart::image_url("data:image/png;base64,AAAA"),
            ContentPart::image("AAAA", "image/png")
        );
        assert_eq!(
            ContentPart::image_url("https://x/y.png"),
            ContentPart::ImageUrl {
                url: "https://x/y.png".into()
            }
        );
        assert_eq!(
            ContentPart::document_url("data:application/pdf;base64,JVBE"),
            ContentPart::pdf("JVBE")
        );
        assert_eq!(parse_data_url("data:image/png,plain"), None);
    }

    #[test]
    fn bytes_are_base64_encoded() {
        assert_eq!(
            ContentPart::image_bytes(b"hi", "image/png"),
            ContentPart::image("aGk=", "image/png")
        );
        assert_eq!(
            ContentPart::pdf_bytes(b"%PDF"),
            ContentPart::pdf("JVBERg==")
        );
    }

    #[test]
    fn text_is_joined_from_the_text_parts() {
        let content = Content::new()
            .text("a")
            .image_url("https://x/y.png")
            .text("b");
        assert_eq!(content.to_text(), "ab");
        assert!(!content.is_text());
        assert!(Content::from("hi").is_text());
        assert!(matches!(Content::from("hi").to_text(), Cow::Borrowed("hi")));
        assert_eq!(Content::new().to_text(), "");
    }

    #[test]
    fn parts_serialise_tagged_by_kind() {
        let part = ContentPart::pdf("JVBE").named("a.pdf");
        let wire = serde_json::to_value(&part).expect("serialise");
        assert_eq!(
            wire,
            serde_json::json!({"type": "document", "data": "JVBE", "mime_type": "application/pdf", "name": "a.pdf"})
        );
        assert_eq!(part.kind(), "document");
        let back: ContentPart = serde_json::from_value(wire).expect("deserialise");
        assert_eq!(back, part);
    }
}
