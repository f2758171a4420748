//! The REST calls the load generator needs: register, create a group, read history after a `seq`.
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;

/// A registered user and its access token.
#[derive(Debug, Clone)]
pub struct Account {
    /// User id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// JWT access token.
    pub token: String,
}

/// A message as the generator reads it (the fields it needs).
#[derive(Debug, Clone, Deserialize)]
pub struct WireMessage {
    /// Message id.
    pub id: i64,
    /// Conversation.
    pub conversation_id: i64,
    /// Number within the conversation.
    pub seq: i64,
    /// Sender.
    pub sender_id: i64,
    /// Content; the generator's own messages start with the send time in microseconds.
    #[serde(default)]
    pub content: String,
}

#[derive(Deserialize)]
struct Session {
    user: UserRef,
    token: String,
}

#[derive(Deserialize)]
struct UserRef {
    id: i64,
    username: String,
}

#[derive(Deserialize)]
struct Created {
    id: i64,
}

#[derive(Deserialize)]
struct SearchPage {
    results: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Page {
    messages: Vec<WireMessage>,
    has_more: bool,
}

/// REST client for one server.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

async fn check(resp: reqwest::Response, what: &str) -> Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    bail!("{what}: HTTP {status}: {body}")
}

impl Api {
    /// A client for the server at `base` (`http://host:port`).
    /// The server's base URL (`http://host:port`).
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn new(base: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// `POST /api/auth/register`.
    pub async fn register(&self, username: &str, password: &str) -> Result<Account> {
        let resp = self
            .http
            .post(format!("{}/api/auth/register", self.base))
            .json(&json!({
                "username": username,
                "email": format!("{username}@bench.example.com"),
                "password": password,
            }))
            .send()
            .await
            .context("register")?;
        let session: Session = check(resp, "register")
            .await?
            .json()
            .await
            .context("register response")?;
        Ok(Account {
            id: session.user.id,
            username: session.user.username,
            token: session.token,
        })
    }

    /// `POST /api/conversations` for a group created by `creator` with the other `member_ids`.
    pub async fn create_group(
        &self,
        creator: &Account,
        name: &str,
        member_ids: &[i64],
    ) -> Result<i64> {
        let resp = self
            .http
            .post(format!("{}/api/conversations", self.base))
            .bearer_auth(&creator.token)
            .json(&json!({ "type": "group", "name": name, "member_ids": member_ids }))
            .send()
            .await
            .context("create group")?;
        let created: Created = check(resp, "create group")
            .await?
            .json()
            .await
            .context("create group response")?;
        Ok(created.id)
    }

    /// `GET /api/search/messages?query=`: how many results the first page holds.
    pub async fn search_messages(&self, token: &str, query: &str) -> Result<usize> {
        let resp = self
            .http
            .get(format!("{}/api/search/messages", self.base))
            .query(&[("query", query)])
            .bearer_auth(token)
            .send()
            .await
            .context("search")?;
        let page: SearchPage = check(resp, "search")
            .await?
            .json()
            .await
            .context("search response")?;
        Ok(page.results.len())
    }

    /// Every message of a conversation with `seq > after_seq`, oldest first (follows `has_more`).
    pub async fn messages_after(
        &self,
        token: &str,
        conversation_id: i64,
        after_seq: u64,
    ) -> Result<Vec<WireMessage>> {
        let mut out = Vec::new();
        let mut after = after_seq;
        loop {
            let resp = self
                .http
                .get(format!(
                    "{}/api/conversations/{conversation_id}/messages?after_seq={after}&limit=100",
                    self.base
                ))
                .bearer_auth(token)
                .send()
                .await
                .context("history")?;
            let page: Page = check(resp, "history")
                .await?
                .json()
                .await
                .context("history response")?;
            let last = page.messages.last().map(|m| m.seq);
            out.extend(page.messages);
            match last {
                Some(seq) if page.has_more && seq > 0 && seq as u64 > after => after = seq as u64,
                _ => return Ok(out),
            }
        }
    }
}
