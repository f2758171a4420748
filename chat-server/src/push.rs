//! Web Push settings from the configuration: the VAPID key pair (from
//! VAPID_PRIVATE_KEY, or in development generated once and kept in the data
//! directory, like the JWT secret), the contact, and which endpoints
//! subscriptions may name.
use std::path::Path;
use std::time::Duration;

use chat_core::push::{EndpointPolicy, PushConfig, VapidKeys};

use crate::config::{AppEnv, Config};

/// Contact used in development when VAPID_SUBJECT is not set.
const DEVELOPMENT_SUBJECT: &str = "mailto:postmaster@localhost";

/// Why push cannot be set up as configured.
#[derive(Debug, thiserror::Error)]
pub enum PushSetupError {
    /// VAPID_PRIVATE_KEY is not a key.
    #[error("VAPID_PRIVATE_KEY: {0} (generate a pair with: chat-server --generate-vapid-keys)")]
    BadKey(chat_core::push::VapidError),
    /// The contact is missing or not a URI push services accept.
    #[error(
        "VAPID_SUBJECT must be a mailto: or https: URI (required with VAPID_PRIVATE_KEY in production)"
    )]
    BadSubject,
    /// The generated key could not be read or written.
    #[error("cannot read or write the generated VAPID key at {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// The push settings, or `None` when push is off (production without keys).
pub fn push_config(config: &Config) -> Result<Option<PushConfig>, PushSetupError> {
    let production = config.app_env == AppEnv::Production;
    let keys = match config
        .vapid_private_key
        .as_deref()
        .filter(|k| !k.trim().is_empty())
    {
        Some(key) => VapidKeys::from_private_base64(key).map_err(PushSetupError::BadKey)?,
        None if production => {
            tracing::warn!("VAPID_PRIVATE_KEY is not set: push notifications are off");
            return Ok(None);
        }
        None => generated_keys(&config.data_dir.join("vapid_private_key"))?,
    };
    let subject = match config.vapid_subject.as_deref().map(str::trim) {
        Some(subject) if !subject.is_empty() => subject.to_owned(),
        _ if production => return Err(PushSetupError::BadSubject),
        _ => DEVELOPMENT_SUBJECT.to_owned(),
    };
    if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
        return Err(PushSetupError::BadSubject);
    }
    let endpoints = if !production && config.push_allow_private_endpoints {
        EndpointPolicy::AllowPrivate
    } else {
        EndpointPolicy::PublicHttps
    };
    Ok(Some(PushConfig {
        preview: config.push_preview,
        collapse: Duration::from_millis(config.push_collapse_ms),
        endpoints,
        concurrency: usize::from(config.push_concurrency),
        ..PushConfig::new(keys, subject)
    }))
}

fn generated_keys(path: &Path) -> Result<VapidKeys, PushSetupError> {
    let kept = crate::kept::kept_or_generated(
        path,
        |text| VapidKeys::from_private_base64(text).ok(),
        || {
            let keys = VapidKeys::generate();
            (keys.private_base64(), keys)
        },
    );
    let (keys, generated) = kept.map_err(|source| PushSetupError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if generated {
        tracing::warn!(path = %path.display(), "VAPID_PRIVATE_KEY is not set: generated a key pair for push and stored it in the data directory (set VAPID_PRIVATE_KEY in production)");
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_generates_a_key_once_and_keeps_it() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().to_str().expect("path");
        let first = push_config(&Config::from_args(&[
            "--data-dir",
            data,
            "--app-env",
            "development",
        ]))
        .expect("config")
        .expect("on");
        let again = push_config(&Config::from_args(&[
            "--data-dir",
            data,
            "--app-env",
            "development",
        ]))
        .expect("config")
        .expect("on");
        assert_eq!(first.vapid.public_base64(), again.vapid.public_base64());
        assert_eq!(first.endpoints, EndpointPolicy::AllowPrivate);
    }

    #[test]
    fn production_takes_keys_from_configuration_only() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().to_str().expect("path");
        let off = push_config(&Config::from_args(&[
            "--data-dir",
            data,
            "--app-env",
            "production",
        ]))
        .expect("config");
        assert!(off.is_none(), "no key generated in production");
        assert!(!dir.path().join("vapid_private_key").exists());
        let keys = VapidKeys::generate();
        let private = keys.private_base64();
        let missing_subject = push_config(&Config::from_args(&[
            "--app-env",
            "production",
            "--vapid-private-key",
            &private,
        ]));
        assert!(matches!(missing_subject, Err(PushSetupError::BadSubject)));
        let on = push_config(&Config::from_args(&[
            "--app-env",
            "production",
            "--vapid-private-key",
            &private,
            "--vapid-subject",
            "mailto:ops@example.com",
            "--push-allow-private-endpoints",
            "true",
        ]))
        .expect("config")
        .expect("on");
        assert_eq!(on.vapid.public_base64(), keys.public_base64());
        assert_eq!(
            on.endpoints,
            EndpointPolicy::PublicHttps,
            "never private in production"
        );
        let bad = push_config(&Config::from_args(&["--vapid-private-key", "nope"]));
        assert!(matches!(bad, Err(PushSetupError::BadKey(_))));
    }
}
