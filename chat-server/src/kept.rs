//! Secrets a development server generates once and keeps in its data
//! directory (the JWT secret, the VAPID key), readable by its owner only.
use std::io;
use std::path::Path;

/// The secret kept at `path` if `parse` accepts it; otherwise a new one
/// from `generate` (its text and value), written there with mode 0600.
/// The flag says whether it was generated now.
pub(crate) fn kept_or_generated<T>(
    path: &Path,
    parse: impl Fn(&str) -> Option<T>,
    generate: impl FnOnce() -> (String, T),
) -> io::Result<(T, bool)> {
    match std::fs::read_to_string(path) {
        Ok(existing) => {
            if let Some(value) = parse(existing.trim()) {
                return Ok((value, false));
            }
            tracing::warn!(path = %path.display(), "the kept secret is unusable: generating another");
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let (text, value) = generate();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok((value, true))
}
