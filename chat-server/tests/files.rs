//! Files: anything that is neither an image nor a voice message is stored as
//! uploaded, under a sanitised name, and only ever served as a download;
//! file messages carry it as their `attachment`, readable by the uploader and
//! the members of the conversations it was posted in.
mod common;

use common::{TestDb, TestServer};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

async fn upload_as(
    server: &TestServer,
    token: &str,
    field: &str,
    bytes: &[u8],
    name: &str,
    declared: &str,
) -> (u16, Value) {
    let part = Part::bytes(bytes.to_vec())
        .file_name(name.to_owned())
        .mime_str(declared)
        .expect("mime");
    let res = server
        .http
        .post(server.url("/api/upload"))
        .bearer_auth(token)
        .multipart(Form::new().part(field.to_owned(), part))
        .send()
        .await
        .expect("upload request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn download(server: &TestServer, token: &str, url: &str) -> reqwest::Response {
    server
        .http
        .get(server.url(url))
        .bearer_auth(token)
        .send()
        .await
        .expect("download")
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

const PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const HTML: &[u8] =
    b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>";

/// A ZIP archive holding one empty stored file named `a.txt`.
fn zip_bytes() -> Vec<u8> {
    let mut zip = Vec::new();
    // Local file header, no data.
    zip.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    zip.extend_from_slice(&[0; 12]);
    zip.extend_from_slice(&[5, 0, 0, 0]);
    zip.extend_from_slice(b"a.txt");
    // Central directory and its end.
    zip.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    zip.extend_from_slice(&[0; 12]);
    zip.extend_from_slice(&[5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    zip.extend_from_slice(b"a.txt");
    zip.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    zip.extend_from_slice(&[51, 0, 0, 0, 35, 0, 0, 0, 0, 0]);
    zip
}

#[tokio::test]
async fn any_file_is_stored_as_is_and_only_served_as_a_download() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, alice) = server.register("alice").await;
    let zip = zip_bytes();
    // Declared types and names that would render inline if believed.
    let cases: [(&str, &[u8], &str, &str, &str); 4] = [
        (
            "report.pdf",
            PDF,
            "application/pdf",
            "application/pdf",
            "report.pdf",
        ),
        (
            "photos.zip",
            &zip,
            "application/zip",
            "application/zip",
            "photos.zip",
        ),
        ("page.html", HTML, "text/html", "image/png", "page.html"),
        (
            "logo.svg",
            SVG,
            "image/svg+xml",
            "image/svg+xml",
            "logo.svg",
        ),
    ];
    for (name, bytes, declared, _, expected_name) in cases {
        let (status, body) = upload_as(&server, &alice, "file", bytes, name, declared).await;
        assert_eq!(status, 201, "{name}: {body}");
        assert_eq!(body["kind"], "file", "{name}: {body}");
        assert_eq!(body["size"], bytes.len(), "{name}");
        assert_eq!(body["name"], expected_name);
        assert!(body.get("thumbnail_url").is_none(), "{body}");
        let url = body["file_url"].as_str().expect("file_url");
        assert!(url.ends_with(".bin"), "{url}");
        let res = download(&server, &alice, url).await;
        assert_eq!(res.status(), 200, "{name}");
        assert_eq!(header(&res, "content-type"), "application/octet-stream");
        assert_eq!(header(&res, "x-content-type-options"), "nosniff");
        assert_eq!(
            header(&res, "content-security-policy"),
            "default-src 'none'; sandbox"
        );
        assert_eq!(
            header(&res, "content-disposition"),
            format!("attachment; filename=\"{expected_name}\"; filename*=UTF-8''{expected_name}")
        );
        let stored = res.bytes().await.expect("body");
        assert_eq!(&stored[..], bytes, "{name}: stored as uploaded");
    }
    // The type reported is the one the bytes show, never the declared one.
    let (_, body) = upload_as(&server, &alice, "file", PDF, "notes.txt", "text/plain").await;
    assert_eq!(body["mime"], "application/pdf");
    let (_, body) = upload_as(&server, &alice, "file", &zip, "x", "image/png").await;
    assert_eq!(body["mime"], "application/zip");
    // Through the `image` field only images pass, as before.
    let (status, body) = upload_as(&server, &alice, "image", PDF, "a.pdf", "image/png").await;
    assert_eq!(status, 415, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn hostile_names_are_sanitised() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, alice) = server.register("alice").await;
    let long = format!("{}.pdf", "ž".repeat(200));
    let cases: [(&str, &str); 6] = [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\system32\\evil.pdf", "evil.pdf"),
        ("invoice\u{202E}fdp.exe", "invoicefdp.exe"),
        ("tab\there.pdf", "tabhere.pdf"),
        ("\"quoted\"; filename=x.pdf", "_quoted_; filename=x.pdf"),
        (".htaccess", "htaccess"),
    ];
    for (i, (raw, expected)) in cases.into_iter().enumerate() {
        // Distinct bytes: one row per case.
        let bytes = format!("{}content {i}", String::from_utf8_lossy(PDF));
        let (status, body) = upload_as(
            &server,
            &alice,
            "file",
            bytes.as_bytes(),
            raw,
            "application/pdf",
        )
        .await;
        assert_eq!(status, 201, "{raw:?}: {body}");
        assert_eq!(body["name"], expected, "{raw:?}");
        let res = download(&server, &alice, body["file_url"].as_str().expect("url")).await;
        let disposition = header(&res, "content-disposition");
        assert!(disposition.starts_with("attachment; "), "{disposition}");
        assert!(
            !disposition.contains('/') && !disposition.contains('\\'),
            "{disposition}"
        );
    }
    // Raw control characters in a part header do not even parse: a clear 400.
    let (status, body) = upload_as(
        &server,
        &alice,
        "file",
        b"x",
        "a\u{0007}b\u{001b}[31m.pdf",
        "text/plain",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_body");
    let (_, body) = upload_as(&server, &alice, "file", b"long name", &long, "text/plain").await;
    let name = body["name"].as_str().expect("name");
    assert!(name.len() <= 200 && name.ends_with(".pdf"), "{name}");
    server.stop().await;
}

#[tokio::test]
async fn file_messages_carry_their_attachment_for_members_only() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (alice_user, alice) = server.register("alice").await;
    let (bob_user, bob) = server.register("bob").await;
    let (_, carol) = server.register("carol").await;
    let conv = server.direct(&alice, &bob_user).await;
    let path = format!("/api/conversations/{conv}/messages");

    let (_, upload) = upload_as(
        &server,
        &alice,
        "file",
        PDF,
        "Q3 report.pdf",
        "application/pdf",
    )
    .await;
    let url = upload["file_url"].as_str().expect("file_url").to_owned();
    // Not posted yet: only Alice may download it.
    assert_eq!(download(&server, &bob, &url).await.status(), 404);

    // The message type must be the upload's kind.
    for wrong in ["image", "audio"] {
        let (status, body) = server
            .post(
                &path,
                &alice,
                json!({ "message_type": wrong, "file_url": url }),
            )
            .await;
        assert_eq!(status, 400, "{wrong}: {body}");
        assert!(body["details"]["message_type"].is_array(), "{body}");
    }
    let (status, body) = server
        .post(&path, &alice, json!({ "message_type": "file" }))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["details"]["file_url"].is_array(), "{body}");

    let (status, message) = server
        .post(
            &path,
            &alice,
            json!({ "content": "numbers", "message_type": "file", "file_url": url }),
        )
        .await;
    assert_eq!(status, 201, "{message}");
    let attachment = &message["attachment"];
    assert_eq!(attachment["url"], url.as_str());
    assert_eq!(attachment["kind"], "file");
    assert_eq!(attachment["mime"], "application/pdf");
    assert_eq!(attachment["name"], "Q3 report.pdf");
    assert_eq!(attachment["size"], PDF.len());

    // Bob now downloads it, under its name; Carol, outside, does not.
    let res = download(&server, &bob, &url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "content-disposition"),
        "attachment; filename=\"Q3 report.pdf\"; filename*=UTF-8''Q3%20report.pdf"
    );
    assert_eq!(download(&server, &carol, &url).await.status(), 404);
    // Bob cannot post Alice's file as his.
    let (status, _) = server
        .post(
            &path,
            &bob,
            json!({ "message_type": "file", "file_url": url }),
        )
        .await;
    assert_eq!(status, 400);

    // History carries the attachment; deleting the message erases it.
    let (_, page) = server.get(&format!("{path}?limit=10"), &bob).await;
    assert_eq!(page["messages"][0]["attachment"]["name"], "Q3 report.pdf");
    let id = message["id"].as_i64().expect("id");
    let (status, _) = server
        .call(
            reqwest::Method::DELETE,
            &format!("/api/messages/{id}"),
            &alice,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, page) = server.get(&format!("{path}?limit=10"), &bob).await;
    assert_eq!(page["messages"][0]["attachment"], Value::Null);
    assert_eq!(page["messages"][0]["file_url"], Value::Null);
    assert_eq!(download(&server, &bob, &url).await.status(), 404);
    let _ = alice_user;
    server.stop().await;
}

#[tokio::test]
async fn a_range_request_gets_part_of_the_file() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db).await;
    let (_, alice) = server.register("alice").await;
    let (_, body) = upload_as(&server, &alice, "file", PDF, "r.pdf", "application/pdf").await;
    let url = body["file_url"].as_str().expect("url");
    let res = server
        .http
        .get(server.url(url))
        .bearer_auth(&alice)
        .header("range", "bytes=0-7")
        .send()
        .await
        .expect("range request");
    assert_eq!(res.status(), 206);
    assert_eq!(
        header(&res, "content-disposition").split(';').next(),
        Some("attachment")
    );
    assert_eq!(&res.bytes().await.expect("body")[..], &PDF[..8]);
    server.stop().await;
}
