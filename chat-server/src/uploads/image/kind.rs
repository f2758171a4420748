//! The accepted image types, and what each is stored as.
use image::ImageFormat;

/// The image types that are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// PNG (stored as PNG).
    Png,
    /// JPEG (stored as JPEG).
    Jpeg,
    /// GIF, animated or not (stored as GIF, animation kept).
    Gif,
    /// WebP (stored as lossless WebP, the only WebP encoding available; animation is not kept).
    WebP,
}

impl ImageKind {
    pub(super) fn from_format(format: ImageFormat) -> Option<ImageKind> {
        match format {
            ImageFormat::Png => Some(ImageKind::Png),
            ImageFormat::Jpeg => Some(ImageKind::Jpeg),
            ImageFormat::Gif => Some(ImageKind::Gif),
            ImageFormat::WebP => Some(ImageKind::WebP),
            _ => None,
        }
    }

    pub(super) fn format(self) -> ImageFormat {
        match self {
            ImageKind::Png => ImageFormat::Png,
            ImageKind::Jpeg => ImageFormat::Jpeg,
            ImageKind::Gif => ImageFormat::Gif,
            ImageKind::WebP => ImageFormat::WebP,
        }
    }

    /// File name extension of stored files.
    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpg",
            ImageKind::Gif => "gif",
            ImageKind::WebP => "webp",
        }
    }

    /// The kind stored under a file name extension.
    pub fn from_extension(ext: &str) -> Option<ImageKind> {
        match ext {
            "png" => Some(ImageKind::Png),
            "jpg" => Some(ImageKind::Jpeg),
            "gif" => Some(ImageKind::Gif),
            "webp" => Some(ImageKind::WebP),
            _ => None,
        }
    }

    /// MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Gif => "image/gif",
            ImageKind::WebP => "image/webp",
        }
    }
}
