import { useEffect, useState } from 'react';
import type { Message, User } from '../api/types';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { blockedPeer, isBlocked } from '../chat/blocks';
import { useChat, useChatState } from '../chat/ChatContext';
import { emptyThread } from '../chat/client';
import { conversationTitle, directPeer, memberCount, memberSummary, onlineCountLabel } from '../chat/conversations';
import { lastSeenLabel } from '../chat/format';
import { muteLabel } from '../chat/mute';
import { typingLabel } from '../chat/typing';
import { Avatar } from '../components/Avatar';
import { BlockedNotice } from '../components/BlockedNotice';
import { CallButtons } from '../components/CallButtons';
import { Composer } from '../components/Composer';
import { LeaveDialog } from '../components/LeaveDialog';
import { MembersDialog } from '../components/MembersDialog';
import { MessageList } from '../components/MessageList';
import { MuteMenu } from '../components/MuteMenu';
import { ProfileDialog } from '../components/ProfileDialog';
import { ThreadPanel } from '../components/ThreadPanel';
import { useCalm } from '../components/useCalm';
import { useNow } from '../components/useNow';
import { typistNames } from '../chat/names';

const NO_TYPISTS: never[] = [];

export function ConversationPage() {
  const { conversationId } = useParams();
  const id = Number(conversationId);
  if (!Number.isSafeInteger(id) || id <= 0) {
    return (
      <div className="empty-state" role="alert">
        <p>This conversation does not exist.</p>
        <Link to="/">Back to conversations</Link>
      </div>
    );
  }
  return <ConversationView key={id} conversationId={id} />;
}

function ConversationView({ conversationId }: { conversationId: number }) {
  const client = useChat();
  const navigate = useNavigate();
  const conversation = useChatState((s) => s.conversations.find((c) => c.id === conversationId));
  const threadStatus = useChatState((s) => (s.threads[conversationId] ?? emptyThread).status);
  const typists = useChatState((s) => s.typing[conversationId] ?? NO_TYPISTS);
  const blocks = useChatState((s) => s.blocks);
  const onlineCount = useChatState((s) => s.onlineCounts[conversationId]);
  const [dialog, setDialog] = useState<'members' | 'leave' | null>(null);
  const [profile, setProfile] = useState<User | null>(null);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [threadOf, setThreadOf] = useState<Message | null>(null);
  // Opened at a message (a search result): `?message=<id>&seq=<seq>`.
  const [params] = useSearchParams();
  const focusId = Number(params.get('message'));
  const focusSeq = Number(params.get('seq'));
  const focus = Number.isSafeInteger(focusId) && focusId > 0 ? focusId : undefined;
  const now = useNow();

  useEffect(() => {
    void client.openConversation(conversationId);
    return () => void client.openConversation(null);
  }, [client, conversationId]);

  useEffect(() => {
    if (!focus || !Number.isSafeInteger(focusSeq) || focusSeq <= 0) return;
    // After the newest page, so the page around the message joins it.
    void client.openConversation(conversationId).then(() => client.loadAround(conversationId, focusSeq));
  }, [client, conversationId, focus, focusSeq]);

  // Left here or on another device: nothing to show any more.
  useEffect(() => {
    if (!conversation && client.hasLeft(conversationId)) navigate('/', { replace: true });
  }, [client, conversation, conversationId, navigate]);

  const meId = client.me.id;
  const title = conversation ? conversationTitle(conversation, meId) : threadStatus === 'error' ? 'Conversation' : 'Loading...';
  const peer = conversation ? directPeer(conversation, meId) : undefined;
  const isGroup = conversation?.type === 'group';
  let subtitle = '';
  if (conversation?.type === 'direct' && peer) {
    subtitle = peer.status === 'online' ? 'online' : lastSeenLabel(peer.last_seen, now);
  } else if (conversation && isGroup) {
    // The server's count (every member, the user included) once known; else the embedded members'.
    const members = memberCount(conversation);
    subtitle =
      onlineCount === undefined
        ? memberSummary(conversation, meId)
        : `${members} member${members === 1 ? '' : 's'}, ${onlineCountLabel(onlineCount)}`;
    if (conversation.is_public) subtitle += ' · public room';
  }
  const muted = conversation ? muteLabel(conversation, now) : null;
  if (muted) subtitle += subtitle ? ` · ${muted}` : muted;
  const blockedUser = blockedPeer(conversation, meId, blocks);
  // Blocked users' typing in groups is hidden like their messages.
  // Read out when it changes, at most every 30 seconds: a busy room changes every second.
  const announcedOnline = useCalm(isGroup && onlineCount !== undefined ? onlineCountLabel(onlineCount) : '', 30_000);
  const typing = typingLabel(
    typistNames(
      typists.filter((t) => !isBlocked(blocks, t.user_id)),
      conversation?.members ?? [],
    ),
  );

  useEffect(() => {
    document.title = conversation ? `${title} - Chat` : 'Chat';
    return () => {
      document.title = 'Chat';
    };
  }, [conversation, title]);

  return (
    <section className="conversation" aria-labelledby="conversation-title" data-testid="conversation-view" data-conversation-id={conversationId}>
      <header className="conversation-header">
        <Link to="/" className="back-link" aria-label="Back to conversations">
          <span aria-hidden="true">‹</span>
        </Link>
        {conversation && peer ? (
          // The title's button does the same for keyboards and screen readers.
          <button type="button" className="avatar-button" tabIndex={-1} aria-hidden="true" onClick={() => setProfile(peer)}>
            <Avatar name={title} url={peer.avatar_url} status={peer.status} size="small" />
          </button>
        ) : conversation ? (
          <Avatar name={title} size="small" />
        ) : null}
        <div className="conversation-heading">
          <h1 id="conversation-title" data-testid="conversation-title">
            {peer ? (
              <button
                type="button"
                className="title-button"
                onClick={() => setProfile(peer)}
                aria-haspopup="dialog"
                aria-label={`${title}: view profile`}
                data-testid="conversation-profile-button"
              >
                {title}
              </button>
            ) : (
              title
            )}
          </h1>
          {subtitle ? (
            <p
              className="conversation-subtitle"
              data-testid="conversation-subtitle"
              data-presence={peer ? peer.status : undefined}
              data-online-count={isGroup && onlineCount !== undefined ? onlineCount : undefined}
            >
              {peer && peer.status !== 'online' && peer.last_seen ? (
                <time dateTime={peer.last_seen}>{subtitle}</time>
              ) : (
                subtitle
              )}
            </p>
          ) : null}
          <span className="visually-hidden" aria-live="polite" data-testid="online-count-announcer">
            {announcedOnline}
          </span>
        </div>
        {conversation ? (
          <div className="conversation-actions">
            {conversation.type === 'direct' && peer ? <CallButtons conversationId={conversationId} peer={peer} /> : null}
            <MuteMenu conversation={conversation} />
            {isGroup ? (
              <>
                <button
                  type="button"
                  className="button secondary compact"
                  onClick={() => setDialog('members')}
                  aria-haspopup="dialog"
                  data-testid="members-button"
                >
                  Members
                </button>
                <button
                  type="button"
                  className="button secondary compact danger"
                  onClick={() => setDialog('leave')}
                  aria-haspopup="dialog"
                  data-testid="leave-conversation-button"
                >
                  Leave
                </button>
              </>
            ) : null}
          </div>
        ) : null}
      </header>
      <MessageList
        conversation={conversation}
        conversationId={conversationId}
        onReply={setReplyTo}
        onOpenThread={setThreadOf}
        focusMessageId={focus}
      />
      <div className="typing-indicator" aria-live="polite" data-testid="typing-indicator">
        {typing}
      </div>
      {blockedUser ? (
        <BlockedNotice user={blockedUser} />
      ) : (
        <Composer
          conversationId={conversationId}
          members={conversation?.members ?? []}
          replyTo={replyTo}
          onCancelReply={() => setReplyTo(null)}
        />
      )}
      {threadOf && conversation ? (
        <ThreadPanel conversation={conversation} parent={threadOf} onClose={() => setThreadOf(null)} />
      ) : null}
      {dialog === 'members' && conversation ? (
        <MembersDialog conversation={conversation} onClose={() => setDialog(null)} />
      ) : null}
      {profile ? <ProfileDialog user={profile} onClose={() => setProfile(null)} /> : null}
      {dialog === 'leave' && conversation ? (
        <LeaveDialog
          conversation={conversation}
          title={title}
          onClose={() => setDialog(null)}
          onLeft={() => navigate('/', { replace: true })}
        />
      ) : null}
    </section>
  );
}
