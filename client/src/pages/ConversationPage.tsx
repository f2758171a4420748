import { useEffect } from 'react';
import { Link, useParams } from 'react-router';
import { useChat, useChatState } from '../chat/ChatContext';
import { emptyThread } from '../chat/client';
import { conversationTitle, directPeer } from '../chat/conversations';
import { lastSeenLabel } from '../chat/format';
import { typingLabel } from '../chat/typing';
import { Avatar } from '../components/Avatar';
import { Composer } from '../components/Composer';
import { MessageList } from '../components/MessageList';

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
  const conversation = useChatState((s) => s.conversations.find((c) => c.id === conversationId));
  const threadStatus = useChatState((s) => (s.threads[conversationId] ?? emptyThread).status);
  const typists = useChatState((s) => s.typing[conversationId] ?? NO_TYPISTS);

  useEffect(() => {
    void client.openConversation(conversationId);
    return () => void client.openConversation(null);
  }, [client, conversationId]);

  const meId = client.me.id;
  const title = conversation ? conversationTitle(conversation, meId) : threadStatus === 'error' ? 'Conversation' : 'Loading...';
  const peer = conversation ? directPeer(conversation, meId) : undefined;
  let subtitle = '';
  if (conversation?.type === 'direct' && peer) {
    subtitle = peer.status === 'online' ? 'online' : lastSeenLabel(peer.last_seen);
  } else if (conversation?.type === 'group') {
    const count = conversation.member_count ?? conversation.members.length;
    const online = conversation.members.filter((m) => m.id !== meId && m.status === 'online').length;
    subtitle = `${count} member${count === 1 ? '' : 's'}${online > 0 ? `, ${online} online` : ''}`;
  }
  const typing = typingLabel(typists.map((t) => t.username));

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
        {conversation ? <Avatar name={title} url={peer?.avatar_url} status={peer?.status} size="small" /> : null}
        <div className="conversation-heading">
          <h1 id="conversation-title" data-testid="conversation-title">
            {title}
          </h1>
          {subtitle ? (
            <p className="conversation-subtitle" data-testid="conversation-subtitle">
              {subtitle}
            </p>
          ) : null}
        </div>
      </header>
      <MessageList conversation={conversation} conversationId={conversationId} />
      <div className="typing-indicator" aria-live="polite" data-testid="typing-indicator">
        {typing}
      </div>
      <Composer conversationId={conversationId} />
    </section>
  );
}
