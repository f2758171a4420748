//! Files that are neither images nor voice messages: their type, decided
//! from their bytes only to tell people what they are, and the names they are
//! offered under. Such a file is stored as uploaded and only ever served as
//! a download (see `routes::uploads`), so neither its name nor its declared
//! type can make a browser render it.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The most bytes of a name kept, below the 255 most file systems allow.
pub const MAX_NAME_BYTES: usize = 200;

/// What a file without a usable name is called.
const FALLBACK_NAME: &str = "file";

/// The MIME type the bytes show (`application/octet-stream` when they show none).
///
/// ```
/// use chat_server::uploads::file::mime_of;
/// assert_eq!(mime_of(b"%PDF-1.7\n"), "application/pdf");
/// assert_eq!(mime_of(b"\x00\x01\x02 no known signature"), "application/octet-stream");
/// ```
pub fn mime_of(bytes: &[u8]) -> &'static str {
    infer::get(bytes).map_or("application/octet-stream", |kind| kind.mime_type())
}

/// The name a file is offered under: its last path component, without
/// control characters, bidirectional overrides and isolates, characters
/// Windows refuses in names, or leading dots and spaces; at most
/// [`MAX_NAME_BYTES`] bytes, cut at a character boundary and keeping the
/// extension; `file` when nothing is left.
///
/// ```
/// use chat_server::uploads::file::sanitize_name;
/// assert_eq!(sanitize_name("../../etc/passwd"), "passwd");
/// assert_eq!(sanitize_name("C:\\Users\\me\\report.pdf"), "report.pdf");
/// assert_eq!(sanitize_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
/// assert_eq!(sanitize_name("a\r\nb?.txt"), "ab_.txt");
/// assert_eq!(sanitize_name(" .hidden"), "hidden");
/// assert_eq!(sanitize_name(""), "file");
/// ```
pub fn sanitize_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .map(|c| if is_reserved(c) { '_' } else { c })
        .collect();
    let cleaned = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches([' ', '.']);
    let shortened = shorten(cleaned, MAX_NAME_BYTES);
    if shortened.is_empty() {
        FALLBACK_NAME.to_owned()
    } else {
        shortened
    }
}

/// Characters that reorder how text is shown (`invoice`, U+202E, `fdp.exe`
/// shows as `invoiceexe.pdf`), or that are invisible.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}'
    )
}

/// Characters Windows refuses in file names (the path separators are gone by then).
fn is_reserved(c: char) -> bool {
    matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')
}

/// `name` cut to at most `max` bytes at a character boundary, keeping an
/// extension of up to 16 bytes.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let extension = name
        .rfind('.')
        .map(|dot| &name[dot..])
        .filter(|ext| ext.len() <= 16)
        .unwrap_or("");
    let stem = &name[..name.len() - extension.len()];
    let mut end = max - extension.len();
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{extension}", stem[..end].trim_end())
}

/// What RFC 5987 lets through unescaped in an `ext-value` (its `attr-char`).
const ATTR_CHAR_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A `Content-Disposition` header value (RFC 6266): `disposition` with the
/// name as a plain ASCII fallback and, exactly, as UTF-8 in `filename*`.
///
/// ```
/// use chat_server::uploads::file::content_disposition;
/// assert_eq!(
///     content_disposition("attachment", "Résumé 2026.pdf"),
///     "attachment; filename=\"R_sum_ 2026.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf"
/// );
/// ```
pub fn content_disposition(disposition: &str, name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' if c != '%' => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(name, ATTR_CHAR_ESCAPES);
    format!("{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_their_extension_and_whole_characters() {
        let name = format!("{}.pdf", "é".repeat(300));
        let short = sanitize_name(&name);
        assert!(short.len() <= MAX_NAME_BYTES, "{}", short.len());
        assert!(short.ends_with(".pdf"));
        assert!(short.starts_with('é'));
        let long_ext = format!("a.{}", "x".repeat(400));
        assert!(sanitize_name(&long_ext).len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(
            sanitize_name("a\u{0007}b\u{001b}[31mc\u{0085}.pdf"),
            "ab[31mc.pdf"
        );
        assert_eq!(sanitize_name("\u{7f}x.txt"), "x.txt");
    }

    #[test]
    fn names_made_only_of_what_is_removed_fall_back() {
        assert_eq!(sanitize_name("..."), "file");
        assert_eq!(sanitize_name("dir/"), "file");
        assert_eq!(sanitize_name("\u{202E}\u{2066}\n"), "file");
    }

    #[test]
    fn header_values_are_printable_ascii() {
        for name in [
            "a\"b.txt",
            "x;y=z.txt",
            "日本語.txt",
            "100%.txt",
            "tab\there",
        ] {
            let value = content_disposition("attachment", &sanitize_name(name));
            assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)), "{value}");
            let quoted = value.split('"').count();
            assert_eq!(quoted, 3, "one quoted fallback in {value}");
        }
    }
}
