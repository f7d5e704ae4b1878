//! How the simulator counts images and documents in usage: a fixed,
//! documented estimate, not the vendors' (which depends on pixels and the
//! text on each page): [`IMAGE_TOKENS`] an image, [`PAGE_TOKENS`] a PDF page.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use toolcall_runtime::{ContentPart, Message};

/// Prompt tokens an image counts for, inline or by URL: OpenAI's price of
/// a low-detail image.
pub const IMAGE_TOKENS: u32 = 85;

/// Prompt tokens a document page counts for: Gemini's price of a PDF page.
/// A PDF's pages are its `/Type /Page` objects; another document, or one
/// given by URL, counts as one page.
pub const PAGE_TOKENS: u32 = 258;

/// The prompt tokens of a message's images and documents.
pub(crate) fn media_tokens(message: &Message) -> u32 {
    let parts = match message {
        Message::User { content } => content.parts(),
        Message::Tool { parts, .. } => parts.as_slice(),
        _ => return 0,
    };
    parts.iter().map(part_tokens).sum()
}

fn part_tokens(part: &ContentPart) -> u32 {
    match part {
        ContentPart::Image { .. } | ContentPart::ImageUrl { .. } => IMAGE_TOKENS,
        ContentPart::Document {
            data, mime_type, ..
        } if mime_type == "application/pdf" => PAGE_TOKENS.saturating_mul(pdf_pages(data)),
        ContentPart::Document { .. } | ContentPart::DocumentUrl { .. } => PAGE_TOKENS,
        _ => 0,
    }
}

/// The pages of a base64 PDF: its `/Type /Page` objects (not `/Pages`),
/// with or without the space; at least one.
pub(crate) fn pdf_pages(data: &str) -> u32 {
    let Ok(bytes) = STANDARD.decode(data.trim()) else {
        return 1;
    };
    let mut pages = 0u32;
    for (at, _) in bytes.windows(5).enumerate().filter(|(_, w)| w == b"/Type") {
        let rest = &bytes[at + 5..];
        let rest = rest.strip_prefix(b" ").unwrap_or(rest);
        if rest.starts_with(b"/Page") && !rest[5..].starts_with(b"s") {
            pages += 1;
        }
    }
    pages.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_counted_from_the_page_objects() {
        let pdf = STANDARD.encode(
            b"1 0 obj << /Type /Pages /Count 2 >> 2 0 obj << /Type /Page >> 3 0 obj <</Type/Page>>",
        );
        assert_eq!(pdf_pages(&pdf), 2);
        assert_eq!(pdf_pages(&STANDARD.encode(b"no pages")), 1);
        assert_eq!(pdf_pages("not base64!"), 1);
        let message = Message::user(
            toolcall_runtime::Content::new()
                .text("see")
                .image_url("https://x/y.png")
                .pdf_base64(pdf),
        );
        assert_eq!(media_tokens(&message), IMAGE_TOKENS + 2 * PAGE_TOKENS);
    }
}
