import { useEffect, useState } from 'react';
import { NavLink, Outlet, useMatch } from 'react-router';
import type { CurrentUser } from '../api/types';
import { ConnectionBanner } from '../components/ConnectionBanner';
import { ConversationList } from '../components/ConversationList';
import { MessageSearch } from '../components/MessageSearch';
import { NewChatDialog } from '../components/NewChatDialog';
import { NewGroupDialog } from '../components/NewGroupDialog';
import { Avatar } from '../components/Avatar';
import { BlockedUsersDialog } from '../components/BlockedUsersDialog';
import { CallOverlay } from '../components/CallOverlay';
import { ProfileEditor } from '../components/ProfileEditor';
import { displayName, smallAvatar } from '../chat/names';
import { push } from '../push/browserPush';
import { useConversationLinks } from '../push/conversationLinks';
import { useAuth } from '../session/AuthContext';

/** The signed-in screen: conversations on the left, the open one on the right. */
export function ChatLayout({ user }: { user: CurrentUser }) {
  const { logout } = useAuth();
  const [dialog, setDialog] = useState<'chat' | 'group' | 'blocked' | 'profile' | null>(null);
  const conversationMatch = useMatch('/c/:conversationId');
  const conversationOpen = conversationMatch !== null;
  const openId = Number(conversationMatch?.params.conversationId);
  const [searching, setSearching] = useState(false);
  const roomsOpen = useMatch('/rooms') !== null;
  useConversationLinks();

  // The server hears of this device's push subscription again, for this session.
  useEffect(() => {
    void push.sync().catch(() => undefined);
  }, []);

  return (
    <div className="app-shell">
      <ConnectionBanner />
      {/* On small screens one pane shows at a time: the list, or what is open beside it. */}
      <div className={`layout${conversationOpen || roomsOpen ? ' has-conversation' : ''}`}>
        <aside className="sidebar" aria-label="Chats">
          <header className="sidebar-header">
            <button
              type="button"
              className="current-user"
              onClick={() => setDialog('profile')}
              aria-haspopup="dialog"
              aria-label={`Your profile: ${displayName(user)}`}
              data-testid="current-user"
            >
              <Avatar name={displayName(user)} url={smallAvatar(user.avatar_url)} size="small" />
              <span className="current-user-name" data-testid="current-user-name">
                {displayName(user)}
              </span>
            </button>
            <div className="sidebar-header-actions">
              <button
                type="button"
                className="button link"
                onClick={() => setDialog('blocked')}
                aria-haspopup="dialog"
                aria-label="Blocked users"
                data-testid="blocked-users-button"
              >
                Blocked
              </button>
              <button type="button" className="button link" onClick={() => void logout()} data-testid="logout-button">
                Sign out
              </button>
            </div>
          </header>
          <div className="sidebar-actions">
            <button type="button" className="button primary" onClick={() => setDialog('chat')} data-testid="new-chat-button">
              New chat
            </button>
            <button
              type="button"
              className="button secondary"
              onClick={() => setDialog('group')}
              data-testid="new-group-button"
            >
              New group
            </button>
            <NavLink to="/rooms" className="button secondary" data-testid="rooms-button">
              Rooms
            </NavLink>
          </div>
          <MessageSearch
            openConversationId={Number.isSafeInteger(openId) && openId > 0 ? openId : null}
            onActiveChange={setSearching}
          />
          {searching ? null : <ConversationList />}
        </aside>
        <main className="main-pane">
          <Outlet />
        </main>
      </div>
      {dialog === 'chat' ? <NewChatDialog onClose={() => setDialog(null)} /> : null}
      {dialog === 'group' ? <NewGroupDialog onClose={() => setDialog(null)} /> : null}
      {dialog === 'blocked' ? <BlockedUsersDialog onClose={() => setDialog(null)} /> : null}
      {dialog === 'profile' ? <ProfileEditor user={user} onClose={() => setDialog(null)} /> : null}
      <CallOverlay />
    </div>
  );
}

export function NoConversation() {
  return (
    <div className="empty-state">
      <h1>Your chats</h1>
      <p className="muted">Pick a conversation, start a new chat or group, or join a public room.</p>
    </div>
  );
}
