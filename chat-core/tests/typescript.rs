//! The React client's copy of the protocol's TypeScript declarations
//! (`client/src/api/protocol.generated.ts`) is exactly what the Rust types
//! generate. After changing a wire type, rewrite it with
//! `UPDATE_TYPESCRIPT=1 cargo test -p chat-core --test typescript`.
use std::path::Path;

#[test]
fn the_clients_typescript_declarations_are_current() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/src/api/protocol.generated.ts");
    let generated = chat_core::typescript::declarations();
    if std::env::var_os("UPDATE_TYPESCRIPT").is_some() {
        std::fs::write(&path, &generated).expect("write the declarations");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date: run UPDATE_TYPESCRIPT=1 cargo test -p chat-core --test typescript",
        path.display()
    );
}
