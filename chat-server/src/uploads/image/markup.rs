//! Refusing images that carry HTML or SVG markup.

/// Whether the bytes carry HTML or SVG markup: an image built to also be read
/// as a page (a polyglot) is refused, even though the re-encoded copy would be
/// harmless. A tag name followed by a delimiter is required, so compressed image
/// data practically never matches by chance.
pub fn contains_markup(bytes: &[u8]) -> bool {
    const TAGS: [&[u8]; 10] = [
        b"!doctype",
        b"html",
        b"head",
        b"body",
        b"script",
        b"iframe",
        b"svg",
        b"object",
        b"embed",
        b"style",
    ];
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'<')
        .any(|(i, _)| {
            let rest = &bytes[i + 1..];
            TAGS.iter().any(|tag| {
                rest.len() > tag.len()
                    && rest[..tag.len()].eq_ignore_ascii_case(tag)
                    && matches!(rest[tag.len()], b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/')
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_needs_a_tag_and_a_delimiter() {
        assert!(contains_markup(b"\x89PNG....<script>alert(1)</script>"));
        assert!(contains_markup(b"GIF89a<SVG xmlns=''>"));
        assert!(!contains_markup(b"<svgx <scrip <x:xmpmeta>"));
    }
}
