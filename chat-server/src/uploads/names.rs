//! The names stored files go by: `<64 hex digits>[_thumb].<ext>`, the
//! SHA-256 of the stored original and its kind's extension: `png`, `jpg`,
//! `gif` or `webp` for images (which alone have a `_thumb` copy), `ogg`,
//! `webm`, `m4a` or `mp3` for voice messages, `bin` for every other file.

use super::audio::AudioKind;
use super::image::ImageKind;

/// What a stored file is, as its extension says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredKind {
    /// A re-encoded image or its thumbnail.
    Image(ImageKind),
    /// A voice message.
    Audio(AudioKind),
    /// Any other file, stored as uploaded.
    File,
}

impl StoredKind {
    /// The extension of its stored files.
    pub fn extension(self) -> &'static str {
        match self {
            StoredKind::Image(kind) => kind.extension(),
            StoredKind::Audio(kind) => kind.extension(),
            StoredKind::File => "bin",
        }
    }

    fn from_extension(ext: &str) -> Option<StoredKind> {
        if ext == "bin" {
            return Some(StoredKind::File);
        }
        ImageKind::from_extension(ext)
            .map(StoredKind::Image)
            .or_else(|| AudioKind::from_extension(ext).map(StoredKind::Audio))
    }
}

/// A valid stored-file name.
#[derive(Debug, Clone, Copy)]
pub struct FileName<'a> {
    /// The name without its extension: the ETag.
    pub stem: &'a str,
    /// The 64 hex digits.
    pub hash: &'a str,
    /// The kind its extension names.
    pub kind: StoredKind,
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
    let kind = StoredKind::from_extension(ext)?;
    let hash = match kind {
        StoredKind::Image(_) => stem.strip_suffix("_thumb").unwrap_or(stem),
        _ => stem,
    };
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

/// The name of a stored audio or other file, from its hash.
pub fn stored_name(hash: &str, kind: StoredKind) -> String {
    format!("{hash}.{}", kind.extension())
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

    #[test]
    fn audio_and_files_have_no_thumbnails() {
        let hash = "b".repeat(64);
        let ogg = parse_name(&format!("{hash}.ogg")).map(|n| n.kind);
        assert_eq!(ogg, Some(StoredKind::Audio(AudioKind::OggOpus)));
        let bin = parse_name(&format!("{hash}.bin")).map(|n| n.kind);
        assert_eq!(bin, Some(StoredKind::File));
        assert!(parse_name(&format!("{hash}_thumb.ogg")).is_none());
        assert!(parse_name(&format!("{hash}_thumb.bin")).is_none());
        assert_eq!(stored_name(&hash, StoredKind::File), format!("{hash}.bin"));
    }
}
