//! Profiles: a user's display name, bio and avatar, their rules, and the
//! `user:updated` fan-out to everyone who shares a conversation with them.
//!
//! The fan-out is a fixed number of broadcasts whatever the audience: the
//! user with their presence to the members of their small conversations
//! (those who see their presence; see [`audience`](super::audience)), the
//! user with their presence hidden to the members of their other
//! conversations, and the same hidden copy to the users they blocked who
//! share a small conversation with them. Each socket gets exactly one copy:
//! the rooms of a broadcast leave out the sockets an earlier one reached.
use std::collections::HashSet;

use serde::{Deserialize, Deserializer};

use crate::ChatHandle;
use crate::error::{ChatError, ChatResult, Invalid};
use crate::fanout::{Target, conversation_room, user_room};
use crate::ids::UserId;
use crate::model::{OwnUser, User};
use crate::protocol::USER_UPDATED;
use crate::store;

/// Most characters of a display name (after trimming).
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// Most characters of a bio (after trimming).
pub const MAX_BIO_CHARS: usize = 500;
/// Most bytes of an avatar URL (the host builds it).
pub const MAX_AVATAR_URL_BYTES: usize = 512;

/// Conversation ids read per query when addressing `user:updated`.
const ROOMS_PAGE: u64 = 1000;

/// A change of one's own profile. Each field: absent (`None`) leaves it as
/// it is, `Some(None)` removes it, `Some(Some(value))` sets it. A display
/// name or bio that is empty once trimmed removes it too.
///
/// Rules ([`normalized`](Self::normalized)): a display name is 1 to 64
/// characters, a bio at most 500; neither may hold control characters (a
/// bio may hold line breaks) nor the invisible characters that reorder text
/// (bidi embeddings, overrides, isolates and marks), which could make a
/// name pass for another.
///
/// ```
/// use chat_core::service::ProfileUpdate;
///
/// let update: ProfileUpdate = serde_json::from_str(r#"{"display_name": "  Alice M.  ", "bio": null}"#)?;
/// let update = update.normalized().unwrap();
/// assert_eq!(update.display_name, Some(Some("Alice M.".to_owned())));
/// assert_eq!(update.bio, Some(None)); // removed
/// assert_eq!(update.avatar_url, None); // unchanged
///
/// let spoof: ProfileUpdate = serde_json::from_str(r#"{"display_name": "admin\u202e"}"#)?;
/// assert!(spoof.normalized().unwrap_err().details().unwrap().contains_key("display_name"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ProfileUpdate {
    /// The name shown instead of the username.
    #[serde(default, deserialize_with = "present")]
    pub display_name: Option<Option<String>>,
    /// A few words about oneself.
    #[serde(default, deserialize_with = "present")]
    pub bio: Option<Option<String>>,
    /// The avatar's URL. Chat-core stores what the host gives: the host
    /// checks the image is the user's own and makes the stored variants.
    #[serde(default, deserialize_with = "present")]
    pub avatar_url: Option<Option<String>>,
}

/// A field that is present: `null` is `Some(None)`, absence the default `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Whether `c` is a character that reorders text or marks direction
/// invisibly: bidi embeddings and overrides (U+202A..U+202E), isolates
/// (U+2066..U+2069), and the LRM, RLM and ALM marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Trims `text`; empty: `None`. Checks its length and characters.
fn clean(
    invalid: &mut Invalid,
    field: &str,
    text: Option<String>,
    max_chars: usize,
    line_breaks: bool,
) -> Option<String> {
    let text = text?;
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    invalid.check(
        text.chars().count() <= max_chars,
        field,
        format!("must be at most {max_chars} characters"),
    );
    let allowed = |c: char| line_breaks && c == '\n';
    invalid.check(
        !text
            .chars()
            .any(|c| (c.is_control() && !allowed(c)) || is_bidi_control(c)),
        field,
        if line_breaks {
            "must not contain control characters other than line breaks, nor bidi controls"
        } else {
            "must not contain control characters or line breaks, nor bidi controls"
        },
    );
    Some(text.to_owned())
}

impl ProfileUpdate {
    /// Trims the display name and bio (empty: removed) and checks every
    /// field; `validation_failed` lists every problem at once.
    ///
    /// ```
    /// use chat_core::service::ProfileUpdate;
    ///
    /// let too_long = ProfileUpdate { display_name: Some(Some("x".repeat(65))), ..Default::default() };
    /// assert!(too_long.normalized().is_err());
    /// let blank = ProfileUpdate { display_name: Some(Some("   ".into())), ..Default::default() };
    /// assert_eq!(blank.normalized().unwrap().display_name, Some(None));
    /// ```
    pub fn normalized(self) -> ChatResult<ProfileUpdate> {
        let mut invalid = Invalid::new();
        let display_name = self.display_name.map(|name| {
            clean(
                &mut invalid,
                "display_name",
                name,
                MAX_DISPLAY_NAME_CHARS,
                false,
            )
        });
        let bio = self
            .bio
            .map(|bio| clean(&mut invalid, "bio", bio, MAX_BIO_CHARS, true));
        if let Some(Some(url)) = &self.avatar_url {
            invalid.check(
                !url.is_empty() && url.len() <= MAX_AVATAR_URL_BYTES,
                "avatar",
                format!("must be 1 to {MAX_AVATAR_URL_BYTES} bytes"),
            );
        }
        invalid.finish()?;
        Ok(ProfileUpdate {
            display_name,
            bio,
            avatar_url: self.avatar_url,
        })
    }

    /// Whether the update changes nothing.
    fn is_empty(&self) -> bool {
        self.display_name.is_none() && self.bio.is_none() && self.avatar_url.is_none()
    }
}

impl ChatHandle {
    /// Changes the caller's own profile (see [`ProfileUpdate`] for the
    /// rules; `validation_failed` lists every problem) and returns it. When
    /// something changed, after the commit, every socket of everyone who
    /// shares a conversation with the user, and every socket of the user, gets
    /// [`USER_UPDATED`](crate::socket::events::USER_UPDATED) once, on every
    /// instance; messages show the new name and avatar from then on (senders
    /// are read with each message, not copied into it).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::ProfileUpdate;
    ///
    /// let update = ProfileUpdate {
    ///     display_name: Some(Some("Alice Martin".into())),
    ///     bio: Some(None), // remove the bio
    ///     ..Default::default()
    /// };
    /// let mine = chat.update_profile(me, update).await?;
    /// assert_eq!(mine.user.display_name.as_deref(), Some("Alice Martin"));
    /// # Ok(()) }
    /// ```
    pub async fn update_profile(
        &self,
        user_id: UserId,
        update: ProfileUpdate,
    ) -> ChatResult<OwnUser> {
        let update = update.normalized()?;
        let before = self.user_row(user_id).await?;
        if update.is_empty() {
            return Ok(OwnUser::from(&before));
        }
        let display_name = update
            .display_name
            .unwrap_or_else(|| before.display_name.clone());
        let bio = update.bio.unwrap_or_else(|| before.bio.clone());
        let avatar_url = update
            .avatar_url
            .unwrap_or_else(|| before.avatar_url.clone());
        if (&display_name, &bio, &avatar_url)
            == (&before.display_name, &before.bio, &before.avatar_url)
        {
            return Ok(OwnUser::from(&before));
        }
        let after = store::users::update_profile(self.db(), user_id, display_name, bio, avatar_url)
            .await?
            .ok_or(ChatError::NotFound("user"))?;
        let own = OwnUser::from(&after);
        if let Err(err) = self.announce_profile(&own.user).await {
            // The change is committed: a failed announcement costs clients a
            // refresh of the profile, not the change.
            tracing::warn!(%err, user = %user_id, "user:updated not sent");
        }
        Ok(own)
    }

    /// Sends `user:updated` about `user` (see the module docs).
    async fn announce_profile(&self, user: &User) -> ChatResult<()> {
        let limit = self.config().presence_fanout_limit as i64;
        let small: Vec<String> = store::presence::presence_conversations(self.db(), user.id, limit)
            .await?
            .into_iter()
            .map(conversation_room)
            .collect();
        let small_set: HashSet<&String> = small.iter().collect();
        let mut others = Vec::new();
        let mut after = 0;
        loop {
            let ids = store::members::conversation_ids_after(self.db(), user.id, after, ROOMS_PAGE)
                .await?;
            let Some(&last) = ids.last() else { break };
            let full = ids.len() as u64 == ROOMS_PAGE;
            others.extend(
                ids.into_iter()
                    .map(conversation_room)
                    .filter(|room| !small_set.contains(room)),
            );
            if !full {
                break;
            }
            after = last.get();
        }
        let blocked: Vec<UserId> = self
            .blocks_of(user.id)
            .await?
            .blocked
            .iter()
            .copied()
            .collect();
        let blocked_rooms: Vec<String> = blocked.iter().map(|&b| user_room(b)).collect();
        let own_room = user_room(user.id);
        let mut hidden = user.clone();
        crate::service::audience::hide_among(
            std::slice::from_mut(&mut hidden),
            &HashSet::from([user.id]),
        );

        // With presence: the user's own sockets and the members of their
        // small conversations, but not the users they blocked.
        let mut rooms = small.clone();
        rooms.push(own_room.clone());
        let shown = Target {
            rooms,
            except_socket: None,
            except_rooms: blocked_rooms,
        };
        self.broadcast(shown, USER_UPDATED, user).await;

        // Without presence: the members of their other conversations who are
        // not in a small one (those were reached above, or are blocked and
        // reached below).
        if !others.is_empty() {
            let mut except_rooms = small;
            except_rooms.push(own_room);
            let target = Target {
                rooms: others,
                except_socket: None,
                except_rooms,
            };
            self.broadcast(target, USER_UPDATED, &hidden).await;
        }

        // Without presence: the blocked users the first broadcast left out.
        let sharing =
            store::presence::sharing_small_conversations(self.db(), user.id, &blocked, limit)
                .await?;
        if !sharing.is_empty() {
            let rooms = sharing.into_iter().map(user_room).collect();
            self.broadcast(Target::rooms(rooms), USER_UPDATED, &hidden)
                .await;
        }
        Ok(())
    }
}
