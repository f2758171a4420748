//! Outgoing mail behind a small trait: SMTP (lettre) when `SMTP_URL` is set,
//! otherwise an outbox directory (and the log) for development and tests.
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Serialize;

/// One e-mail.
#[derive(Debug, Clone, Serialize)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Why a mail could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address could not be parsed.
    #[error("invalid address: {0}")]
    Address(String),
    /// The SMTP server refused or could not be reached.
    #[error("smtp: {0}")]
    Smtp(String),
    /// The outbox could not be written.
    #[error("outbox: {0}")]
    Io(#[from] std::io::Error),
}

/// Boxed future of [`Mailer::send`].
pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Sends mail.
pub trait Mailer: Send + Sync + 'static {
    /// Sends one mail.
    fn send(&self, mail: Mail) -> MailFuture<'_>;
}

/// Writes each mail as a JSON file into a directory, and logs it.
pub struct OutboxMailer {
    dir: PathBuf,
}

impl OutboxMailer {
    /// Mail goes to `dir` (created when needed).
    pub fn new(dir: PathBuf) -> Self {
        OutboxMailer { dir }
    }
}

impl Mailer for OutboxMailer {
    fn send(&self, mail: Mail) -> MailFuture<'_> {
        Box::pin(async move {
            tokio::fs::create_dir_all(&self.dir).await?;
            let name = format!(
                "{}-{:08x}.json",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
                rand::random::<u32>()
            );
            let json = serde_json::to_vec_pretty(&mail).map_err(std::io::Error::other)?;
            tokio::fs::write(self.dir.join(name), json).await?;
            tracing::info!(to = %mail.to, subject = %mail.subject, "mail written to the outbox (SMTP_URL is not set)");
            Ok(())
        })
    }
}

/// Sends through an SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// `url` as lettre understands it, e.g. `smtps://user:pass@smtp.example.com`.
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Smtp(e.to_string()))?
            .build();
        let from = from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Address(e.to_string()))?;
        Ok(SmtpMailer { transport, from })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: Mail) -> MailFuture<'_> {
        Box::pin(async move {
            let to: Mailbox = mail
                .to
                .parse()
                .map_err(|e: lettre::address::AddressError| MailError::Address(e.to_string()))?;
            let message = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(mail.subject)
                .body(mail.body)
                .map_err(|e| MailError::Address(e.to_string()))?;
            self.transport
                .send(message)
                .await
                .map_err(|e| MailError::Smtp(e.to_string()))?;
            Ok(())
        })
    }
}
