//! Throughput of the upload pipeline (detect, decode, re-encode, thumbnail) on a
//! photo-like JPEG of about 1 MB, in uploads per second of one core.
//!
//! `cargo bench -p chat-server --bench uploads`

use std::hint::black_box;

use chat_server::uploads::{ImageLimits, image::process};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, RgbImage};

/// A 2048 x 1536 (3 MP) picture: smooth gradients with sensor-like noise, so it
/// compresses like a photo rather than like a flat test card.
fn photo_jpeg() -> Vec<u8> {
    let (width, height) = (2048u32, 1536u32);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 56) as i32 % 20 - 10
    };
    let image = RgbImage::from_fn(width, height, |x, y| {
        let base = [
            (x * 255 / width) as i32,
            (y * 255 / height) as i32,
            (((x / 64 + y / 64) % 2) * 80 + 60) as i32,
        ];
        image::Rgb(base.map(|v| (v + noise()).clamp(0, 255) as u8))
    });
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(image)
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, 90))
        .expect("encode the sample JPEG");
    out
}

fn pipeline(c: &mut Criterion) {
    let jpeg = photo_jpeg();
    let limits = ImageLimits::new(40_000_000);
    let mut group = c.benchmark_group("upload_pipeline");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.bench_function(format!("jpeg_2048x1536_{}KiB", jpeg.len() / 1024), |b| {
        b.iter(|| process(black_box(&jpeg), &limits).expect("the sample is accepted"))
    });
    group.finish();

    // Where the time goes: the same steps, one at a time.
    let decoded = image::load_from_memory(&jpeg).expect("decode the sample");
    let mut steps = c.benchmark_group("upload_steps");
    steps.sample_size(10);
    steps.bench_function("decode", |b| {
        b.iter(|| image::load_from_memory(black_box(&jpeg)).expect("decodes"))
    });
    steps.bench_function("encode_jpeg_q85", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            black_box(&decoded)
                .write_with_encoder(JpegEncoder::new_with_quality(&mut out, 85))
                .expect("encodes");
            out
        })
    });
    steps.bench_function("thumbnail_320", |b| {
        b.iter(|| black_box(&decoded).thumbnail(320, 320))
    });
    steps.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
