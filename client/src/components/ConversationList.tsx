import { NavLink } from 'react-router';
import type { Conversation } from '../api/types';
import { hidesMessage, isBlocked } from '../chat/blocks';
import { useChat, useChatState } from '../chat/ChatContext';
import { conversationTitle, directPeer, messagePreview } from '../chat/conversations';
import { formatListTime } from '../chat/format';
import { typingLabel } from '../chat/typing';
import { muteLabel } from '../chat/mute';
import { Avatar } from './Avatar';
import { typistNames } from '../chat/names';

const NO_TYPISTS: never[] = [];

function ConversationItem({ conversation, meId }: { conversation: Conversation; meId: number }) {
  const allTypists = useChatState((s) => s.typing[conversation.id] ?? NO_TYPISTS);
  const blocks = useChatState((s) => s.blocks);
  const typists = allTypists.filter((t) => !isBlocked(blocks, t.user_id));
  const title = conversationTitle(conversation, meId);
  const peer = directPeer(conversation, meId);
  const online = peer?.status === 'online';
  const unread = conversation.unread_count;
  const mentioned = (conversation.mention_count ?? 0) > 0;
  const activity = conversation.last_message?.created_at ?? conversation.created_at;
  const typing =
    conversation.type === 'direct' && typists.length > 0 ? 'typing...' : typingLabel(typistNames(typists, conversation.members));

  const description = [
    title,
    online ? 'online' : null,
    unread > 0 ? `${unread} unread message${unread === 1 ? '' : 's'}` : null,
    mentioned ? 'you were mentioned' : null,
    muteLabel(conversation, new Date()),
  ]
    .filter(Boolean)
    .join(', ');

  return (
    <li>
      <NavLink
        to={`/c/${conversation.id}`}
        className="conversation-item"
        data-testid="conversation-item"
        data-conversation-id={conversation.id}
        data-unread={unread}
        aria-label={description}
      >
        <Avatar
          name={title}
          url={conversation.type === 'direct' ? peer?.avatar_url : null}
          status={conversation.type === 'direct' ? peer?.status : undefined}
        />
        <span className="conversation-item-body">
          <span className="conversation-item-row">
            <span className="conversation-item-title" data-testid="conversation-title-text">
              {title}
            </span>
            <time className="conversation-item-time" dateTime={activity}>
              {formatListTime(activity)}
            </time>
          </span>
          <span className="conversation-item-row">
            <span className={`conversation-item-preview${typing ? ' is-typing' : ''}`} data-testid="conversation-preview">
              {typing ??
                (conversation.last_message && hidesMessage(blocks, conversation.last_message, conversation.type)
                  ? 'Message from a blocked user'
                  : messagePreview(conversation.last_message, meId))}
            </span>
            {mentioned ? (
              <span className="mention-badge" data-testid="mention-badge" aria-hidden="true">
                @
              </span>
            ) : null}
            {unread > 0 ? (
              <span className="unread-badge" data-testid="unread-badge">
                {unread > 99 ? '99+' : unread}
              </span>
            ) : null}
          </span>
        </span>
      </NavLink>
    </li>
  );
}

export function ConversationList() {
  const client = useChat();
  const conversations = useChatState((s) => s.conversations);
  const status = useChatState((s) => s.conversationsStatus);
  const error = useChatState((s) => s.conversationsError);

  if (status === 'loading' || status === 'idle') {
    return <p className="list-placeholder muted">Loading conversations...</p>;
  }
  if (status === 'error') {
    return (
      <div className="list-placeholder" role="alert">
        <p>{error ?? 'Could not load conversations.'}</p>
        <button type="button" className="button secondary" onClick={() => void client.loadConversations()}>
          Try again
        </button>
      </div>
    );
  }
  if (conversations.length === 0) {
    return <p className="list-placeholder muted">No conversations yet. Start a new chat, or join a room.</p>;
  }
  return (
    <nav aria-label="Conversations" className="conversation-list-nav">
      <ul className="conversation-list" data-testid="conversation-list">
        {conversations.map((conversation) => (
          <ConversationItem key={conversation.id} conversation={conversation} meId={client.me.id} />
        ))}
      </ul>
    </nav>
  );
}
