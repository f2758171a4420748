//! Profile pictures: a square centre crop of a stored image, at
//! [`AVATAR_SIZE`] and [`AVATAR_SMALL_SIZE`] pixels a side.
use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageReader};
use sha2::{Digest, Sha256};

use super::encode::encode_still;
use super::{ImageKind, ImageLimits, ImageRejection, ProcessedImage, decode_error, hex};

/// Side of an avatar, in pixels.
pub const AVATAR_SIZE: u32 = 256;
/// Side of the small avatar (lists, message senders), in pixels.
pub const AVATAR_SMALL_SIZE: u32 = 64;

/// Crops `bytes` (an image we stored) to its centre square and scales it to
/// [`AVATAR_SIZE`] (the `original` of the result) and [`AVATAR_SMALL_SIZE`]
/// (its `thumbnail`), so both are stored and named like any upload: the
/// small one is the large one's `_thumb`. Animated GIFs keep their first
/// frame and become PNG; the other kinds keep theirs. Smaller images are
/// scaled up, so every avatar has the same size.
pub fn avatar(bytes: &[u8], limits: &ImageLimits) -> Result<ProcessedImage, ImageRejection> {
    let format = image::guess_format(bytes).map_err(|_| ImageRejection::Unsupported)?;
    let source = ImageKind::from_format(format).ok_or(ImageRejection::Unsupported)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.decoder_limits());
    let image = reader.decode().map_err(decode_error)?;
    let kind = match source {
        ImageKind::Gif => ImageKind::Png,
        other => other,
    };
    let square = centre_square(&image);
    let large = square.resize_exact(AVATAR_SIZE, AVATAR_SIZE, FilterType::Lanczos3);
    let small = large.resize_exact(AVATAR_SMALL_SIZE, AVATAR_SMALL_SIZE, FilterType::Lanczos3);
    let original = encode_still(&large, kind)?;
    let thumbnail = encode_still(&small, kind)?;
    let hash = hex(&Sha256::digest(&original));
    Ok(ProcessedImage {
        kind,
        width: AVATAR_SIZE,
        height: AVATAR_SIZE,
        original,
        thumbnail,
        hash,
    })
}

/// The largest square at the centre of `image`.
fn centre_square(image: &DynamicImage) -> DynamicImage {
    let (width, height) = (image.width(), image.height());
    let side = width.min(height);
    image.crop_imm((width - side) / 2, (height - side) / 2, side, side)
}

#[cfg(test)]
mod tests {
    use image::{GenericImageView, Rgb, RgbImage};

    use super::*;

    /// A 300 x 100 PNG: red, with a green centre square and blue at the right.
    fn wide_png() -> Vec<u8> {
        let image = RgbImage::from_fn(300, 100, |x, _| match x {
            0..100 => Rgb([255, 0, 0]),
            100..200 => Rgb([0, 255, 0]),
            _ => Rgb([0, 0, 255]),
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(image)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode");
        out
    }

    #[test]
    fn crops_the_centre_square_at_both_sizes() {
        let processed = avatar(&wide_png(), &ImageLimits::new(1_000_000)).expect("avatar");
        assert_eq!(processed.kind, ImageKind::Png);
        for (bytes, side) in [
            (&processed.original, AVATAR_SIZE),
            (&processed.thumbnail, AVATAR_SMALL_SIZE),
        ] {
            let image = image::load_from_memory(bytes).expect("decodes");
            assert_eq!(image.dimensions(), (side, side));
            // Only the green middle third remains.
            for (x, y) in [(0, 0), (side - 1, side - 1), (side / 2, side / 2)] {
                let [r, g, b, _] = image.get_pixel(x, y).0;
                assert!(g > 200 && r < 40 && b < 40, "({x}, {y}): {r} {g} {b}");
            }
        }
    }

    #[test]
    fn refuses_what_is_not_an_image() {
        let limits = ImageLimits::new(1_000_000);
        assert_eq!(
            avatar(b"not an image", &limits).err(),
            Some(ImageRejection::Unsupported)
        );
    }
}
