//! Turning uploaded bytes into the images we store: detect the type from the
//! bytes, refuse bombs before decoding, decode within limits, and re-encode the
//! original and a thumbnail. Nothing of the uploaded file is stored as is, so
//! metadata (EXIF, GPS, comments) and anything smuggled after the image data is dropped.
//!
//! Everything here is synchronous and CPU-bound: callers run it on a blocking thread.
//! This module decodes and checks; [`kind`] names the accepted types, `encode`
//! writes the stored copies and [`markup`] spots polyglots.

pub mod avatar;
mod encode;
pub mod kind;
pub mod markup;

use std::io::Cursor;

use image::codecs::gif::GifDecoder;
use image::metadata::Orientation;
use image::{
    AnimationDecoder, DynamicImage, Frame, ImageDecoder, ImageError, ImageFormat, ImageReader,
    Limits,
};
use sha2::{Digest, Sha256};

use self::encode::{encode_error, encode_gif, encode_still};
pub use self::kind::ImageKind;
pub use self::markup::contains_markup;

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIZE: u32 = 320;

/// Frames of an animated GIF beyond this are refused: each one is decoded to a
/// full RGBA canvas, and tiny frames would otherwise slip under the pixel budget.
const MAX_FRAMES: u64 = 1000;

/// Bounds on what is decoded.
#[derive(Debug, Clone, Copy)]
pub struct ImageLimits {
    /// Most pixels (width x height, summed over the frames of an animation).
    pub max_pixels: u64,
    /// Longest accepted side, in pixels.
    pub max_side: u32,
}

impl ImageLimits {
    /// Limits for images of at most `max_pixels` pixels.
    pub fn new(max_pixels: u64) -> ImageLimits {
        ImageLimits {
            max_pixels,
            // Bounds the width of a panorama, whose pixel count alone looks harmless.
            max_side: 32_768,
        }
    }

    /// Decoder limits: the size checks are repeated inside the decoder, and its
    /// allocations are capped at what the largest acceptable image needs
    /// (16-bit RGBA, 8 bytes a pixel).
    fn decoder_limits(&self) -> Limits {
        let mut limits = Limits::default();
        limits.max_image_width = Some(self.max_side);
        limits.max_image_height = Some(self.max_side);
        limits.max_alloc = Some(self.max_alloc());
        limits
    }

    fn max_alloc(&self) -> u64 {
        self.max_pixels.saturating_mul(8)
    }
}

/// Why an upload is not stored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageRejection {
    /// Not a PNG, JPEG, GIF or WebP (by its bytes), or one carrying markup.
    #[error("not an accepted image")]
    Unsupported,
    /// More pixels, a longer side or more frames than accepted.
    #[error("image too large")]
    TooLarge,
    /// A valid header, but the data cannot be decoded.
    #[error("corrupt or truncated image")]
    Invalid,
    /// Re-encoding failed: a bug or resource problem, not the uploader's fault.
    #[error("cannot encode the image: {0}")]
    Encoding(String),
}

/// An image ready to be stored.
#[derive(Debug, Clone)]
pub struct ProcessedImage {
    /// Its type (the same as the upload's).
    pub kind: ImageKind,
    /// Width of the stored original (after applying the EXIF orientation).
    pub width: u32,
    /// Height of the stored original.
    pub height: u32,
    /// The re-encoded original.
    pub original: Vec<u8>,
    /// The re-encoded thumbnail (the original's bytes when it is already small).
    pub thumbnail: Vec<u8>,
    /// SHA-256 of `original`, lower-case hex: the content address.
    pub hash: String,
}

/// Detects, checks, decodes and re-encodes an upload.
pub fn process(bytes: &[u8], limits: &ImageLimits) -> Result<ProcessedImage, ImageRejection> {
    let format = image::guess_format(bytes).map_err(|_| ImageRejection::Unsupported)?;
    let kind = ImageKind::from_format(format).ok_or(ImageRejection::Unsupported)?;
    if contains_markup(bytes) {
        return Err(ImageRejection::Unsupported);
    }
    let (width, height) = header_dimensions(bytes, format, limits)?;
    check_size(width, height, 1, limits)?;
    let (original, thumbnail, width, height) = match kind {
        ImageKind::Gif => process_gif(bytes, limits)?,
        _ => process_still(bytes, kind, limits)?,
    };
    let hash = content_address(&original);
    Ok(ProcessedImage {
        kind,
        width,
        height,
        original,
        thumbnail,
        hash,
    })
}

/// Reads only the header. A file whose magic bytes claim a format but whose
/// header is not valid for it is not that format (415). The decoder limits
/// apply already: some decoders allocate for metadata while reading the header.
fn header_dimensions(
    bytes: &[u8],
    format: ImageFormat,
    limits: &ImageLimits,
) -> Result<(u32, u32), ImageRejection> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.decoder_limits());
    reader.into_dimensions().map_err(|err| match err {
        ImageError::Limits(_) => ImageRejection::TooLarge,
        _ => ImageRejection::Unsupported,
    })
}

fn check_size(
    width: u32,
    height: u32,
    frames: u64,
    limits: &ImageLimits,
) -> Result<(), ImageRejection> {
    let pixels = u64::from(width)
        .saturating_mul(u64::from(height))
        .saturating_mul(frames);
    if width == 0 || height == 0 {
        return Err(ImageRejection::Invalid);
    }
    if width > limits.max_side
        || height > limits.max_side
        || pixels > limits.max_pixels
        || frames > MAX_FRAMES
    {
        return Err(ImageRejection::TooLarge);
    }
    Ok(())
}

fn decode_error(err: ImageError) -> ImageRejection {
    match err {
        ImageError::Limits(_) => ImageRejection::TooLarge,
        ImageError::Unsupported(_) => ImageRejection::Unsupported,
        ImageError::Encoding(e) => ImageRejection::Encoding(e.to_string()),
        _ => ImageRejection::Invalid,
    }
}

type Encoded = (Vec<u8>, Vec<u8>, u32, u32);

fn process_still(
    bytes: &[u8],
    kind: ImageKind,
    limits: &ImageLimits,
) -> Result<Encoded, ImageRejection> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    reader.limits(limits.decoder_limits());
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    if decoder.total_bytes() > limits.max_alloc() {
        return Err(ImageRejection::TooLarge);
    }
    // The orientation lives in the EXIF data we drop, so it is applied to the
    // pixels: otherwise phone photos would be stored sideways.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let original = encode_still(&image, kind)?;
    let thumbnail = if width.max(height) > THUMBNAIL_SIZE {
        encode_still(&image.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE), kind)?
    } else {
        original.clone()
    };
    Ok((original, thumbnail, width, height))
}

/// GIFs keep their animation (chat GIFs are mostly animated), and so do their thumbnails.
fn process_gif(bytes: &[u8], limits: &ImageLimits) -> Result<Encoded, ImageRejection> {
    let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
    decoder
        .set_limits(limits.decoder_limits())
        .map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    let loop_count = decoder.loop_count();
    let mut frames = Vec::new();
    for frame in decoder.into_frames() {
        let frame = frame.map_err(decode_error)?;
        frames.push(frame);
        // Checked as frames arrive, so at most one frame past the budget is ever held.
        check_size(width, height, frames.len() as u64, limits)?;
    }
    if frames.is_empty() {
        return Err(ImageRejection::Invalid);
    }
    let thumbnail = if width.max(height) > THUMBNAIL_SIZE {
        let small = frames
            .iter()
            .map(|frame| {
                let resized = DynamicImage::ImageRgba8(frame.buffer().clone())
                    .thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE)
                    .to_rgba8();
                Frame::from_parts(resized, 0, 0, frame.delay())
            })
            .collect();
        Some(encode_gif(small, loop_count).map_err(encode_error)?)
    } else {
        None
    };
    let original = encode_gif(frames, loop_count).map_err(encode_error)?;
    let thumbnail = thumbnail.unwrap_or_else(|| original.clone());
    Ok((original, thumbnail, width, height))
}

/// The name a stored object goes by: the SHA-256 of its bytes, lower-case hex.
pub(crate) fn content_address(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_checks() {
        let limits = ImageLimits::new(100);
        assert_eq!(check_size(10, 10, 1, &limits), Ok(()));
        assert_eq!(
            check_size(11, 10, 1, &limits),
            Err(ImageRejection::TooLarge)
        );
        assert_eq!(
            check_size(10, 10, 2, &limits),
            Err(ImageRejection::TooLarge)
        );
        assert_eq!(check_size(0, 10, 1, &limits), Err(ImageRejection::Invalid));
    }
}
