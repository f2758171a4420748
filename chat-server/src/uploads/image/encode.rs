//! Re-encoding decoded images into the stored originals and thumbnails.
use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::metadata::LoopCount;
use image::{DynamicImage, Frame, ImageError};

use super::{ImageKind, ImageRejection};

/// JPEG quality of stored images: visually lossless for photos at a fraction of the size.
const JPEG_QUALITY: u8 = 85;

/// GIF palette quantization speed (1 = best, 30 = fastest); 10 is the usual
/// trade-off and only matters for frames with more than 256 colours (thumbnails).
const GIF_SPEED: i32 = 10;
pub(super) fn encode_error(err: ImageError) -> ImageRejection {
    ImageRejection::Encoding(err.to_string())
}

pub(super) fn encode_still(
    image: &DynamicImage,
    kind: ImageKind,
) -> Result<Vec<u8>, ImageRejection> {
    let mut out = Vec::new();
    match kind {
        ImageKind::Png => {
            let encoder = PngEncoder::new_with_quality(
                &mut out,
                CompressionType::Default,
                FilterType::Adaptive,
            );
            match image {
                DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_) => {
                    DynamicImage::ImageRgba16(image.to_rgba16()).write_with_encoder(encoder)
                }
                _ => image.write_with_encoder(encoder),
            }
        }
        ImageKind::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            match image {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => {
                    image.write_with_encoder(encoder)
                }
                _ if !image.color().has_color() => {
                    DynamicImage::ImageLuma8(image.to_luma8()).write_with_encoder(encoder)
                }
                _ => DynamicImage::ImageRgb8(image.to_rgb8()).write_with_encoder(encoder),
            }
        }
        ImageKind::WebP => {
            let encoder = WebPEncoder::new_lossless(&mut out);
            match image {
                DynamicImage::ImageLuma8(_)
                | DynamicImage::ImageLumaA8(_)
                | DynamicImage::ImageRgb8(_)
                | DynamicImage::ImageRgba8(_) => image.write_with_encoder(encoder),
                _ => DynamicImage::ImageRgba8(image.to_rgba8()).write_with_encoder(encoder),
            }
        }
        ImageKind::Gif => {
            return encode_gif(vec![Frame::new(image.to_rgba8())], LoopCount::Infinite)
                .map_err(encode_error);
        }
    }
    .map_err(encode_error)?;
    Ok(out)
}

pub(super) fn encode_gif(frames: Vec<Frame>, loop_count: LoopCount) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    {
        // The trailer is written when the encoder is dropped.
        let mut encoder = GifEncoder::new_with_speed(&mut out, GIF_SPEED);
        let repeat = match loop_count {
            LoopCount::Infinite => Repeat::Infinite,
            LoopCount::Finite(n) => {
                // GIF counts repetitions after the first play.
                Repeat::Finite(u16::try_from(n.get().saturating_sub(1)).unwrap_or(u16::MAX))
            }
        };
        encoder.set_repeat(repeat)?;
        encoder.encode_frames(frames)?;
    }
    Ok(out)
}
