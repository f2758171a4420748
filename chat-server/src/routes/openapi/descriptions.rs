//! Descriptions as API clients read them: the rustdoc comments they come
//! from lose their code examples and links to Rust items.
use serde_json::Value;

/// Descriptions come from rustdoc comments written for Rust readers: their
/// code examples and links to Rust items mean nothing to an API client.
pub(super) fn clean_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match field {
                    Value::String(text) if key == "description" => *text = clean_text(text),
                    other => clean_descriptions(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_descriptions),
        _ => {}
    }
}

/// `text` without fenced code blocks, and with rustdoc links
/// (`[label](rust::path)`, ``[`Item`]``) reduced to their label.
fn clean_text(text: &str) -> String {
    let mut kept = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            kept.push(line);
        }
    }
    let joined = kept.join("\n");
    let mut out = String::with_capacity(joined.len());
    let mut rest = joined.as_str();
    while let Some(start) = rest.find("](") {
        let target_end = rest[start + 2..].find(')').map(|end| start + 2 + end);
        let label_start = rest[..start].rfind('[');
        match (label_start, target_end) {
            (Some(label_start), Some(target_end))
                if !rest[start + 2..target_end].contains("://")
                    && !rest[start + 2..target_end].starts_with('#') =>
            {
                out.push_str(&rest[..label_start]);
                out.push_str(&rest[label_start + 1..start]);
                rest = &rest[target_end + 1..];
            }
            _ => {
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
            }
        }
    }
    out.push_str(rest);
    // Shortcut links: "[`Item`]" not followed by a target.
    let mut plain = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(start) = rest.find("[`") {
        let end = rest[start..].find("`]").map(|end| start + end);
        match end {
            Some(end) if !rest[end + 2..].starts_with('(') => {
                plain.push_str(&rest[..start]);
                plain.push_str(&rest[start + 1..end + 1]);
                rest = &rest[end + 2..];
            }
            _ => {
                plain.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
            }
        }
    }
    plain.push_str(rest);
    plain.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::clean_text;

    #[test]
    fn rust_examples_and_item_links_are_left_out() {
        let text = "A page.\n\n```\nlet x = 1;\n```\nSee [`Page::next`](crate::Page::next), \
                    [`User`] and [the docs](https://example.com).";
        assert_eq!(
            clean_text(text),
            "A page.\n\nSee `Page::next`, `User` and [the docs](https://example.com)."
        );
    }
}
