//! Images and documents as the APIs read them, for every format's reader:
//! inline data must be base64, a URL must be http(s), and an inline part is
//! an image or a document by its media type. Each format words the refusal.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use toolcall_runtime::ContentPart;

/// Standard base64, with or without its padding, as the APIs take it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Whether `data` decodes as base64.
pub(crate) fn is_base64(data: &str) -> bool {
    BASE64.decode(data).is_ok()
}

/// Whether `url` is one a provider would fetch.
pub(crate) fn is_http_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// An inline part: an image by an `image/` media type, else a document.
pub(crate) fn inline(mime_type: &str, data: &str, name: Option<String>) -> ContentPart {
    if mime_type.starts_with("image/") {
        ContentPart::image(data, mime_type)
    } else {
        let part = ContentPart::document(data, mime_type);
        match name {
            Some(name) => part.named(name),
            None => part,
        }
    }
}

/// A part at a URL: an image by an `image/` media type, else a document.
pub(crate) fn linked(mime_type: &str, url: &str) -> ContentPart {
    if mime_type.starts_with("image/") {
        ContentPart::ImageUrl {
            url: url.to_owned(),
        }
    } else {
        ContentPart::DocumentUrl {
            url: url.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_with_or_without_padding() {
        assert!(is_base64("aGk="));
        assert!(is_base64("aGk"));
        assert!(!is_base64("not base64!"));
        assert_eq!(
            inline("image/png", "AA", None),
            ContentPart::image("AA", "image/png")
        );
        assert_eq!(
            inline("application/pdf", "AA", Some("r.pdf".into())),
            ContentPart::pdf("AA").named("r.pdf")
        );
    }
}
