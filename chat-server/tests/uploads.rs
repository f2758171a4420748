//! Image uploads: accepted formats are re-encoded without metadata, everything
//! else is refused before anything is stored, and images are only served to the
//! uploader and to members of conversations where they were posted.
mod common;

use std::io::Cursor;
use std::path::PathBuf;

use common::{TestDb, TestServer};
use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, Frame, ImageFormat, RgbImage, RgbaImage};
use reqwest::multipart::{Form, Part};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

fn upload_dir(db: &TestDb) -> PathBuf {
    db.dir.path().join("data").join("uploads")
}

/// Files in the upload directory (none before the first accepted upload).
fn stored_files(db: &TestDb) -> Vec<String> {
    match std::fs::read_dir(upload_dir(db)) {
        Ok(entries) => entries
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

async fn upload_rows(db: &TestDb) -> i64 {
    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) FROM uploads".to_owned(),
        ))
        .await
        .expect("count")
        .expect("row");
    let count: i64 = row.try_get_by_index(0).expect("count value");
    let _ = conn.close().await;
    count
}

/// A picture with smooth gradients and some texture, like a photo.
fn picture(width: u32, height: u32) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        let noise = ((x * 7919 + y * 104_729) % 31) as u8;
        image::Rgba([
            (x * 255 / width) as u8 ^ noise,
            (y * 255 / height) as u8,
            ((x + y) % 256) as u8,
            255,
        ])
    })
}

fn png_bytes(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgba8(picture(width, height))
        .write_to(&mut out, ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn jpeg_bytes(width: u32, height: u32) -> Vec<u8> {
    let rgb: RgbImage = DynamicImage::ImageRgba8(picture(width, height)).to_rgb8();
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(rgb)
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, 90))
        .expect("jpeg");
    out
}

fn gif_bytes(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut out, 10);
        encoder.set_repeat(Repeat::Infinite).expect("repeat");
        let palette = |shift: u8| {
            RgbaImage::from_fn(width, height, |x, y| {
                let v = (((x / 20) + (y / 20)) as u8).wrapping_add(shift) % 8 * 32;
                image::Rgba([v, 255 - v, 128, 255])
            })
        };
        encoder
            .encode_frames(vec![Frame::new(palette(0)), Frame::new(palette(3))])
            .expect("gif");
    }
    out
}

fn webp_bytes(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(picture(width, height))
        .write_with_encoder(WebPEncoder::new_lossless(&mut out))
        .expect("webp");
    out
}

/// An EXIF APP1 segment: orientation 6 (rotate 90° clockwise) and a GPS position.
fn exif_segment() -> Vec<u8> {
    let mut tiff: Vec<u8> = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    let entry = |tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        let mut e = Vec::new();
        e.extend_from_slice(&tag.to_le_bytes());
        e.extend_from_slice(&kind.to_le_bytes());
        e.extend_from_slice(&count.to_le_bytes());
        e.extend_from_slice(&value);
        e
    };
    // IFD0 at 8: two entries (30 bytes); the GPS IFD follows at 38 (54 bytes);
    // the latitude and longitude rationals at 92 and 116.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend(entry(0x0112, 3, 1, [6, 0, 0, 0]));
    tiff.extend(entry(0x8825, 4, 1, 38u32.to_le_bytes()));
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&4u16.to_le_bytes());
    tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0"));
    tiff.extend(entry(0x0002, 5, 3, 92u32.to_le_bytes()));
    tiff.extend(entry(0x0003, 2, 2, *b"E\0\0\0"));
    tiff.extend(entry(0x0004, 5, 3, 116u32.to_le_bytes()));
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (num, den) in [
        (48u32, 1u32),
        (51, 1),
        (2406, 100),
        (2, 1),
        (17, 1),
        (4000, 100),
    ] {
        tiff.extend_from_slice(&num.to_le_bytes());
        tiff.extend_from_slice(&den.to_le_bytes());
    }
    assert_eq!(tiff.len(), 140);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&u16::try_from(payload.len() + 2).expect("len").to_be_bytes());
    segment.extend(payload);
    segment
}

/// A JPEG with the EXIF segment right after SOI, as cameras write it.
fn jpeg_with_exif(width: u32, height: u32) -> Vec<u8> {
    let jpeg = jpeg_bytes(width, height);
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let mut out = jpeg[..2].to_vec();
    out.extend(exif_segment());
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(data.len())
        .expect("len")
        .to_be_bytes()
        .to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A PNG that claims 30000 x 30000 RGBA pixels (3.6 GB decoded) in a few bytes.
fn png_bomb() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    // zlib stream of a single zero byte.
    png.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

fn file_part(bytes: Vec<u8>, name: &str, mime: &str) -> Part {
    Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .expect("mime")
}

async fn send_form(server: &TestServer, token: Option<&str>, form: Form) -> (u16, Value) {
    let mut request = server.http.post(server.url("/api/upload")).multipart(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let res = request.send().await.expect("upload request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn upload(server: &TestServer, token: &str, bytes: Vec<u8>, name: &str) -> (u16, Value) {
    let form = Form::new().part("image", file_part(bytes, name, "application/octet-stream"));
    send_form(server, Some(token), form).await
}

async fn fetch(server: &TestServer, token: &str, path: &str) -> reqwest::Response {
    server
        .http
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET upload")
}

#[tokio::test]
async fn accepted_formats_are_reencoded_without_metadata_and_get_thumbnails() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, token) = server.register("uploader").await;

    type Accepted<'a> = (&'a str, Vec<u8>, &'a str, &'a str, (u32, u32));
    let cases: Vec<Accepted> = vec![
        (
            "photo.png",
            png_bytes(800, 600),
            "image/png",
            "png",
            (800, 600),
        ),
        // The EXIF orientation is applied: 800 x 600 rotated a quarter turn.
        (
            "photo.jpg",
            jpeg_with_exif(800, 600),
            "image/jpeg",
            "jpg",
            (600, 800),
        ),
        (
            "anim.gif",
            gif_bytes(640, 480),
            "image/gif",
            "gif",
            (640, 480),
        ),
        (
            "photo.webp",
            webp_bytes(800, 600),
            "image/webp",
            "webp",
            (800, 600),
        ),
    ];
    for (file_name, bytes, mime, ext, (width, height)) in cases {
        let (status, body) = upload(&server, &token, bytes.clone(), file_name).await;
        assert_eq!(status, 201, "{file_name}: {body}");
        assert_eq!(body["mime"], mime, "{file_name}");
        assert_eq!(body["width"], width, "{file_name}");
        assert_eq!(body["height"], height, "{file_name}");
        let file_url = body["file_url"].as_str().expect("file_url");
        let thumbnail_url = body["thumbnail_url"].as_str().expect("thumbnail_url");
        let name = file_url.strip_prefix("/uploads/").expect("under /uploads/");
        let (hash, got_ext) = name.split_once('.').expect("extension");
        assert_eq!(got_ext, ext);
        assert_eq!(hash.len(), 64);
        assert_eq!(thumbnail_url, format!("/uploads/{hash}_thumb.{ext}"));

        let stored = std::fs::read(upload_dir(&db).join(name)).expect("stored original");
        assert_eq!(body["size"], stored.len(), "{file_name}");
        assert!(
            !stored.windows(4).any(|w| w == b"Exif"),
            "{file_name}: stored bytes keep an Exif marker"
        );
        let thumb = std::fs::read(upload_dir(&db).join(format!("{hash}_thumb.{ext}")))
            .expect("stored thumbnail");
        assert!(
            thumb.len() < stored.len(),
            "{file_name}: thumbnail not smaller"
        );
        let format = image::guess_format(&stored).expect("stored format");
        assert_eq!(format.to_mime_type(), mime);
        let original = image::load_from_memory(&stored).expect("stored decodes");
        assert_eq!((original.width(), original.height()), (width, height));
        let small = image::load_from_memory(&thumb).expect("thumbnail decodes");
        assert_eq!(small.width().max(small.height()), 320, "{file_name}");

        let res = fetch(&server, &token, file_url).await;
        assert_eq!(res.status(), 200, "{file_name}: the uploader can fetch it");
        assert_eq!(res.bytes().await.expect("body").to_vec(), stored);
    }
    assert_eq!(stored_files(&db).len(), 8);
    assert_eq!(upload_rows(&db).await, 4);

    // The original kept its EXIF segment in the upload, so the test input was right.
    assert!(jpeg_with_exif(16, 16).windows(4).any(|w| w == b"Exif"));

    // The animation survives re-encoding.
    let (_, body) = upload(&server, &token, gif_bytes(640, 480), "again.gif").await;
    let name = body["file_url"]
        .as_str()
        .expect("url")
        .trim_start_matches("/uploads/");
    let stored = std::fs::read(upload_dir(&db).join(name)).expect("gif");
    let decoder = image::codecs::gif::GifDecoder::new(Cursor::new(stored)).expect("gif decoder");
    let frames = image::AnimationDecoder::into_frames(decoder)
        .collect_frames()
        .expect("frames");
    assert_eq!(frames.len(), 2);
    // Same image, same user: same URL, one row.
    assert_eq!(upload_rows(&db).await, 4);

    // Small images are never upscaled: the thumbnail is the image itself.
    let (status, body) = upload(&server, &token, png_bytes(100, 50), "small.png").await;
    assert_eq!(status, 201, "{body}");
    let thumb = fetch(
        &server,
        &token,
        body["thumbnail_url"].as_str().expect("thumb"),
    )
    .await;
    let thumb = image::load_from_memory(&thumb.bytes().await.expect("thumb body")).expect("png");
    assert_eq!((thumb.width(), thumb.height()), (100, 50));
    server.stop().await;
}

#[tokio::test]
async fn refused_uploads_store_nothing() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, token) = server.register("refused").await;

    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>"#;
    let mut polyglot = gif_bytes(64, 64);
    polyglot.extend_from_slice(b"<script>alert(1)</script>");
    let mut fake_png = b"\x89PNG\r\n\x1a\n".to_vec();
    fake_png.extend_from_slice(html);
    let valid = png_bytes(400, 300);
    let truncated = valid[..valid.len() / 2].to_vec();
    let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
    huge.resize(12 * 1024 * 1024, 0x42);

    type Refused<'a> = (&'a str, Vec<u8>, &'a str, &'a str, u16, &'a str);
    let cases: Vec<Refused> = vec![
        (
            "html as png",
            html.to_vec(),
            "cat.png",
            "image/png",
            415,
            "unsupported_media_type",
        ),
        (
            "svg",
            svg.to_vec(),
            "logo.svg",
            "image/svg+xml",
            415,
            "unsupported_media_type",
        ),
        (
            "gif + script",
            polyglot,
            "a.gif",
            "image/gif",
            415,
            "unsupported_media_type",
        ),
        (
            "png magic + html",
            fake_png,
            "b.png",
            "image/png",
            415,
            "unsupported_media_type",
        ),
        (
            "truncated png",
            truncated,
            "c.png",
            "image/png",
            422,
            "invalid_image",
        ),
        (
            "png bomb",
            png_bomb(),
            "bomb.png",
            "image/png",
            413,
            "image_too_large",
        ),
        (
            "12 MiB",
            huge,
            "big.png",
            "image/png",
            413,
            "payload_too_large",
        ),
    ];
    for (label, bytes, file_name, mime, status, code) in cases {
        let form = Form::new().part("image", file_part(bytes, file_name, mime));
        let (got, body) = send_form(&server, Some(&token), form).await;
        assert_eq!(got, status, "{label}: {body}");
        assert_eq!(body["code"], code, "{label}: {body}");
    }
    assert!(png_bomb().len() < 100);

    let form = Form::new().text("caption", "no file");
    let (status, body) = send_form(&server, Some(&token), form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "validation_failed");
    // Either field is accepted: the detail names the general one.
    assert!(body["details"]["file"].is_array(), "{body}");

    let form = Form::new()
        .part("image", file_part(png_bytes(40, 40), "a.png", "image/png"))
        .part("image", file_part(png_bytes(50, 50), "b.png", "image/png"));
    let (status, body) = send_form(&server, Some(&token), form).await;
    assert_eq!(status, 400, "two files: {body}");
    assert_eq!(body["code"], "validation_failed");

    let form = Form::new().part("image", file_part(png_bytes(40, 40), "a.png", "image/png"));
    let (status, body) = send_form(&server, None, form).await;
    assert_eq!(status, 401, "no auth: {body}");

    let (status, body) = server
        .post(
            "/api/upload",
            &token,
            json!({ "image": "data:image/png;base64,AAAA" }),
        )
        .await;
    assert_eq!(status, 400, "JSON instead of multipart: {body}");

    assert_eq!(stored_files(&db), Vec::<String>::new());
    assert_eq!(upload_rows(&db).await, 0);
    server.stop().await;
}

/// An upload over the limit, sent the way a proxy forwards a buffered body:
/// in pieces, reading the answer only after the last one. The server reads the
/// rest before answering, so every piece is taken and the 413 arrives on a
/// connection that stays usable (a reset here is what a proxy turns into a 502).
#[tokio::test]
async fn an_oversized_upload_is_read_to_its_end_before_the_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, token) = server.register("oversized").await;

    let boundary = "chat-test-boundary-3c9a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"big.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend(std::iter::repeat_n(b'x', 5 * 1024 * 1024 + 512 * 1024));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let host = server.url.trim_start_matches("http://").to_owned();
    let head = |length: usize| {
        format!(
            "POST /api/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n"
        )
    };

    let mut stream = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    stream
        .write_all(head(body.len()).as_bytes())
        .await
        .expect("request head");
    for (n, piece) in body.chunks(64 * 1024).enumerate() {
        if let Err(err) = stream.write_all(piece).await {
            panic!("the server stopped reading the body at piece {n}: {err}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let (status, answer) = read_response(&mut stream).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["code"], "payload_too_large", "{answer}");

    // The same connection serves the next request.
    stream
        .write_all(format!("GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .expect("second request");
    let (status, _) = read_response(&mut stream).await;
    assert_eq!(status, 200);
    let _ = stream.shutdown().await;
    assert_eq!(stored_files(&db), Vec::<String>::new());
    server.stop().await;

    /// One HTTP/1.1 response with a Content-Length body: its status and JSON body.
    async fn read_response(stream: &mut tokio::net::TcpStream) -> (u16, Value) {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().expect("content-length"));
                if raw.len() >= end + 4 + length {
                    let status = head[9..12].parse().expect("status");
                    let body = serde_json::from_slice(&raw[end + 4..end + 4 + length])
                        .unwrap_or(Value::Null);
                    return (status, body);
                }
            }
            let n = stream.read(&mut buf).await.expect("reading the answer");
            assert!(n > 0, "connection closed before a full answer");
            raw.extend_from_slice(&buf[..n]);
        }
    }
}

#[tokio::test]
async fn images_are_served_to_the_uploader_and_members_only() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, alice) = server.register("alice").await;
    let (bob_user, bob) = server.register("bob").await;
    let (_, carol) = server.register("carol").await;

    let (status, body) = upload(&server, &alice, png_bytes(800, 600), "x.png").await;
    assert_eq!(status, 201, "{body}");
    let file_url = body["file_url"].as_str().expect("file_url").to_owned();
    let thumbnail_url = body["thumbnail_url"]
        .as_str()
        .expect("thumbnail_url")
        .to_owned();
    let hash = file_url
        .trim_start_matches("/uploads/")
        .trim_end_matches(".png")
        .to_owned();

    assert_eq!(fetch(&server, &alice, &file_url).await.status(), 200);
    // Not posted anywhere yet: nobody else sees it.
    assert_eq!(fetch(&server, &bob, &file_url).await.status(), 404);

    let conv = server.direct(&alice, &bob_user).await;
    let (status, message) = server
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &alice,
            json!({ "content": "look", "message_type": "image", "file_url": file_url }),
        )
        .await;
    assert_eq!(status, 201, "{message}");
    assert_eq!(message["message_type"], "image");
    assert_eq!(message["file_url"], file_url.as_str());

    let res = fetch(&server, &bob, &file_url).await;
    assert_eq!(res.status(), 200);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(
        header("content-disposition"),
        "inline; filename=\"image.png\"; filename*=UTF-8''image.png"
    );
    assert_eq!(
        header("cache-control"),
        "private, max-age=31536000, immutable"
    );
    let etag = header("etag");
    assert_eq!(etag, format!("\"{hash}\""));
    let body = res.bytes().await.expect("body");
    assert!(image::load_from_memory(&body).is_ok());

    let res = server
        .http
        .get(server.url(&file_url))
        .bearer_auth(&bob)
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("conditional GET");
    assert_eq!(res.status(), 304);
    assert!(res.bytes().await.expect("body").is_empty());

    let thumb = fetch(&server, &bob, &thumbnail_url).await;
    assert_eq!(thumb.status(), 200);
    assert_eq!(
        thumb.headers().get("etag").and_then(|v| v.to_str().ok()),
        Some(format!("\"{hash}_thumb\"").as_str())
    );

    // <img> tags authenticate with the access cookie.
    let res = server
        .http
        .get(server.url(&thumbnail_url))
        .header("Cookie", format!("access_token={bob}"))
        .send()
        .await
        .expect("cookie GET");
    assert_eq!(res.status(), 200);

    // Carol is in no conversation with the image: it does not exist for her.
    assert_eq!(fetch(&server, &carol, &file_url).await.status(), 404);
    assert_eq!(fetch(&server, &carol, &thumbnail_url).await.status(), 404);
    let res = server
        .http
        .get(server.url(&file_url))
        .bearer_auth(&carol)
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("conditional GET");
    assert_eq!(res.status(), 404, "a validator must not reveal the image");

    let res = server
        .http
        .get(server.url(&file_url))
        .send()
        .await
        .expect("anonymous GET");
    assert_eq!(res.status(), 401);

    for path in [
        "/uploads/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/uploads/%2e%2e".to_owned(),
        format!("/uploads/{}.png", hash.to_uppercase()),
        format!("/uploads/{hash}.svg"),
        format!("/uploads/{hash}.png.png"),
        format!("/uploads/{}.png", "0".repeat(64)),
        "/uploads/chat.db".to_owned(),
    ] {
        let res = fetch(&server, &alice, &path).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn image_messages_need_an_upload_of_the_sender() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice_user, alice) = server.register("alice").await;
    let (_, bob) = server.register("bob").await;
    let conv = server.direct(&bob, &alice_user).await;
    let path = format!("/api/conversations/{conv}/messages");

    let (_, body) = upload(&server, &alice, jpeg_bytes(320, 200), "a.jpg").await;
    let alice_url = body["file_url"].as_str().expect("file_url").to_owned();
    let (_, body) = upload(&server, &bob, webp_bytes(64, 64), "b.webp").await;
    let bob_url = body["file_url"].as_str().expect("file_url").to_owned();

    let made_up = format!("/uploads/{}.png", "ab".repeat(32));
    for url in [alice_url.as_str(), made_up.as_str()] {
        let (status, body) = server
            .post(
                &path,
                &bob,
                json!({ "content": "", "message_type": "image", "file_url": url }),
            )
            .await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["code"], "validation_failed");
        assert!(body["details"]["file_url"].is_array(), "{body}");
    }

    let (status, message) = server
        .post(
            &path,
            &bob,
            json!({ "content": "", "message_type": "image", "file_url": bob_url }),
        )
        .await;
    assert_eq!(status, 201, "{message}");
    assert_eq!(message["file_url"], bob_url.as_str());
    // Alice can now see Bob's image, and still cannot pass it off as hers.
    assert_eq!(fetch(&server, &alice, &bob_url).await.status(), 200);
    let (status, _) = server
        .post(
            &path,
            &alice,
            json!({ "content": "fwd", "message_type": "image", "file_url": bob_url }),
        )
        .await;
    assert_eq!(status, 400);

    let (status, page) = server.get(&format!("{path}?limit=10"), &alice).await;
    assert_eq!(status, 200);
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(1));
    server.stop().await;
}

/// Runs one SQL statement on the test database.
async fn exec(db: &TestDb, sql: &str, values: Vec<sea_orm::Value>) {
    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    let backend = conn.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    conn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .expect("statement");
    let _ = conn.close().await;
}

fn file_name(url: &Value) -> String {
    url.as_str()
        .and_then(|u| u.strip_prefix("/uploads/"))
        .expect("upload url")
        .to_owned()
}

#[tokio::test]
async fn uploads_over_the_quota_get_413_quota_exceeded_and_store_nothing() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, alice) = server.register("quota").await;
    let (status, first) = upload(&server, &alice, png_bytes(64, 64), "a.png").await;
    assert_eq!(status, 201, "{first}");
    let used = first["size"].as_u64().expect("size");
    server.stop().await;

    // The same data with a quota that leaves half the first image's size.
    let mut config = common::test_config(&db);
    config.upload_quota_bytes = used + used / 2;
    let server = TestServer::start_with(config).await;
    let files = stored_files(&db).len();
    let rows = upload_rows(&db).await;
    for (width, height) in [(64, 65), (400, 300)] {
        let (status, body) = upload(&server, &alice, png_bytes(width, height), "b.png").await;
        assert_eq!(status, 413, "{width}x{height}: {body}");
        assert_eq!(body["code"], "quota_exceeded", "{body}");
    }
    assert_eq!(stored_files(&db).len(), files, "nothing stored");
    assert_eq!(upload_rows(&db).await, rows, "no row");
    // The quota is per user.
    let (_, bob) = server.register("other").await;
    let (status, body) = upload(&server, &bob, png_bytes(8, 8), "b.png").await;
    assert_eq!(status, 201, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn an_upload_waits_for_a_decode_permit_before_its_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let db = TestDb::new().await;
    let mut config = common::test_config(&db);
    // Memory for one decode at a time.
    config.upload_decode_memory = config.max_image_pixels * 4;
    let server = TestServer::start_with(config).await;
    let (_, token) = server.register("permits").await;

    // The first upload sends half its body, then stalls.
    let boundary = "chat-test-boundary-71ad";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend(png_bytes(300, 200));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let host = server.url.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /api/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let mut stalled = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    stalled.write_all(head.as_bytes()).await.expect("head");
    let half = body.len() / 2;
    stalled.write_all(&body[..half]).await.expect("half");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // A second, complete upload waits: the only permit is taken.
    let second = {
        let http = server.http.clone();
        let url = server.url("/api/upload");
        let token = token.clone();
        tokio::spawn(async move {
            let form =
                Form::new().part("image", file_part(png_bytes(80, 60), "b.png", "image/png"));
            let res = http
                .post(url)
                .bearer_auth(token)
                .multipart(form)
                .send()
                .await
                .expect("second upload");
            res.status().as_u16()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        !second.is_finished(),
        "the second upload was read and decoded while the first held the only permit"
    );
    stalled.write_all(&body[half..]).await.expect("rest");
    let mut answer = Vec::new();
    stalled.read_to_end(&mut answer).await.expect("answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(second.await.expect("task"), 201);
    server.stop().await;
}

#[tokio::test]
async fn orphan_uploads_are_swept_after_the_cutoff_unless_referenced() {
    use chat_server::uploads::{LocalStorage, SweepOutcome, sweep_orphans};

    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice_user, alice) = server.register("alice").await;
    let (bob_user, bob) = server.register("bob").await;
    let (carol_user, carol) = server.register("carol").await;
    let conv = server.direct(&alice, &bob_user).await;
    let up = |token: &str, w: u32, h: u32| {
        let token = token.to_owned();
        let server = &server;
        async move {
            let (status, body) = upload(server, &token, png_bytes(w, h), "x.png").await;
            assert_eq!(status, 201, "{body}");
            body
        }
    };
    let unused = up(&alice, 40, 30).await;
    let posted = up(&alice, 41, 30).await;
    let avatar = up(&bob, 42, 30).await;
    let shared_unused = up(&alice, 43, 30).await;
    up(&carol, 43, 30).await;
    let shared_young = up(&bob, 44, 30).await;
    up(&carol, 44, 30).await;
    let young = up(&alice, 45, 30).await;
    let (status, message) = server
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &alice,
            json!({ "content": "", "message_type": "image", "file_url": posted["file_url"] }),
        )
        .await;
    assert_eq!(status, 201, "{message}");
    server.stop().await;

    exec(
        &db,
        "UPDATE users SET avatar_url = $1 WHERE id = $2",
        vec![
            avatar["thumbnail_url"].as_str().expect("url").into(),
            bob_user["id"].as_i64().expect("id").into(),
        ],
    )
    .await;
    // Everything was uploaded two days ago, but carol's copy of the shared
    // image and alice's last upload are recent.
    let now = chrono::Utc::now();
    exec(
        &db,
        "UPDATE uploads SET created_at = $1",
        vec![(now - chrono::Duration::days(2)).into()],
    )
    .await;
    let carol_id = carol_user["id"].as_i64().expect("id");
    exec(
        &db,
        "UPDATE uploads SET created_at = $1 WHERE (uploader_id = $2 AND file_url = $3) OR file_url = $4",
        vec![
            now.into(),
            carol_id.into(),
            shared_young["file_url"].as_str().expect("url").into(),
            young["file_url"].as_str().expect("url").into(),
        ],
    )
    .await;
    let _ = alice_user;

    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    let storage = LocalStorage::new(upload_dir(&db)).expect("storage");
    let files_before = stored_files(&db);
    // Three days ago, nothing was old enough.
    let early = sweep_orphans(&conn, &storage, now - chrono::Duration::days(3))
        .await
        .expect("sweep");
    assert_eq!(early, SweepOutcome::default());

    let outcome = sweep_orphans(&conn, &storage, now - chrono::Duration::days(1))
        .await
        .expect("sweep");
    // Rows: the unused upload, both copies of the shared unused one, bob's
    // copy of the image carol uploaded recently. Files: the first two images.
    assert_eq!(outcome, SweepOutcome { rows: 4, files: 4 });
    let files = stored_files(&db);
    for gone in [&unused, &shared_unused] {
        for key in ["file_url", "thumbnail_url"] {
            assert!(
                !files.contains(&file_name(&gone[key])),
                "{} kept",
                gone[key]
            );
        }
    }
    for kept in [&posted, &avatar, &shared_young, &young] {
        for key in ["file_url", "thumbnail_url"] {
            assert!(
                files.contains(&file_name(&kept[key])),
                "{} deleted",
                kept[key]
            );
        }
    }
    assert_eq!(files.len(), files_before.len() - 4);
    assert_eq!(
        upload_rows(&db).await,
        4,
        "posted, avatar, carol's copy, young"
    );
    let again = sweep_orphans(&conn, &storage, now - chrono::Duration::days(1))
        .await
        .expect("sweep");
    assert_eq!(again, SweepOutcome::default());
    let _ = conn.close().await;
}

#[tokio::test]
async fn the_server_sweeps_orphan_uploads_at_start() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, alice) = server.register("sweeper").await;
    let (status, body) = upload(&server, &alice, png_bytes(50, 40), "x.png").await;
    assert_eq!(status, 201, "{body}");
    server.stop().await;
    assert_eq!(upload_rows(&db).await, 1);
    exec(
        &db,
        "UPDATE uploads SET created_at = $1",
        vec![(chrono::Utc::now() - chrono::Duration::hours(25)).into()],
    )
    .await;

    let server = TestServer::start(&db).await;
    let name = file_name(&body["file_url"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // The row goes first, then its files.
    while upload_rows(&db).await > 0 || stored_files(&db).contains(&name) {
        assert!(
            std::time::Instant::now() < deadline,
            "the orphan upload (row and file) was not swept"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.stop().await;
}
