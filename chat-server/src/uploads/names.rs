//! The names stored files go by: `<64 hex digits>[_thumb].<png|jpg|gif|webp>`,
//! the SHA-256 of the stored original and its kind's extension.

use super::image::ImageKind;

/// A valid stored-file name.
#[derive(Debug, Clone, Copy)]
pub struct FileName<'a> {
    /// The name without its extension: the ETag.
    pub stem: &'a str,
    /// The 64 hex digits.
    pub hash: &'a str,
    /// The kind its extension names.
    pub kind: ImageKind,
}

impl FileName<'_> {
    /// `/uploads/<hash>.<ext>`: the original, whichever of the pair was named.
    pub fn original_url(&self) -> String {
        format!("/uploads/{}.{}", self.hash, self.kind.extension())
    }
}

/// The parts of `name`, or `None` when it is not a valid stored-file name.
pub fn parse_name(name: &str) -> Option<FileName<'_>> {
    let (stem, ext) = name.split_once('.')?;
    let kind = ImageKind::from_extension(ext)?;
    let hash = stem.strip_suffix("_thumb").unwrap_or(stem);
    let hex = hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    hex.then_some(FileName { stem, hash, kind })
}

/// The names of an image's original and thumbnail, from its hash.
pub fn stored_names(hash: &str, kind: ImageKind) -> (String, String) {
    (
        format!("{hash}.{}", kind.extension()),
        format!("{hash}_thumb.{}", kind.extension()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let hash = "a".repeat(64);
        assert!(parse_name(&format!("{hash}.png")).is_some());
        assert!(parse_name(&format!("{hash}_thumb.webp")).is_some());
        assert!(parse_name(&format!("{hash}.PNG")).is_none());
        assert!(parse_name(&format!("{hash}.svg")).is_none());
        assert!(parse_name(&format!("{}.png", "A".repeat(64))).is_none());
        assert!(parse_name(&format!("{hash}.png.png")).is_none());
        assert!(parse_name(&format!("{hash}_thumb_thumb.png")).is_none());
        assert!(parse_name("../../etc/passwd").is_none());
        assert!(parse_name("").is_none());
    }
}
