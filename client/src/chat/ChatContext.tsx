// Connects the chat to the application socket. Socket listeners live here, at the top of the
// signed-in tree, as named handlers that are removed again on cleanup.

import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { describeError } from '../api/errors';
import * as api from '../api/http';
import type { CurrentUser } from '../api/types';
import { refreshAccessToken, SERVER_URL } from '../api/http';
import { createBrowserCalls } from '../calls/browserCalls';
import { CallsContext } from '../calls/CallsContext';
import { manageConnection } from '../socket/connection';
import { closeSocket, getSocket, lastHandshakeToken, openSocket, reauthenticate } from '../socket/socket';
import { socketTransport } from '../socket/transport';
import { useAuth } from '../session/AuthContext';
import { currentToken, tokenStore } from '../session/tokenStore';
import { ChatClient, type ChatState } from './client';
import { directPeer } from './conversations';
import { clearDrafts } from './drafts';
import { displayName } from './names';

const ChatContext = createContext<ChatClient | null>(null);

function createClient(user: CurrentUser): ChatClient {
  return new ChatClient({
    me: { id: user.id, username: user.username },
    api: {
      listConversations: api.listConversations,
      getConversation: api.getConversation,
      fetchMessagesBefore: api.fetchMessagesBefore,
      fetchMessagesAfterSeq: api.fetchMessagesAfterSeq,
      fetchMessagesAfterRev: api.fetchMessagesAfterRev,
      joinConversation: api.joinConversation,
      leaveConversation: api.leaveConversation,
      addMember: api.addMember,
      updateConversationSettings: api.updateConversationSettings,
      listBlockedUsers: api.listBlockedUsers,
      blockUser: api.blockUser,
      unblockUser: api.unblockUser,
    },
    transport: socketTransport(getSocket),
    describeError: (error) => describeError(error).message,
  });
}

export function ChatProvider({ user, children }: { user: CurrentUser; children: ReactNode }) {
  const [client] = useState(() => createClient(user));
  const [calls] = useState(() =>
    createBrowserCalls({
      me: { id: user.id },
      nameOf: (userId, conversationId) => {
        const conversation = client.conversation(conversationId);
        const peer = conversation ? directPeer(conversation, user.id) : undefined;
        return peer && peer.id === userId ? displayName(peer) : 'The other person';
      },
    }),
  );
  const { endSession, updateUser } = useAuth();
  const endSessionRef = useRef(endSession);
  useEffect(() => {
    endSessionRef.current = endSession;
  }, [endSession]);
  // The user's own profile changed on another device (or in this tab): the header follows.
  useEffect(() => client.onProfileUpdated((changed) => updateUser(changed)), [client, updateUser]);

  useEffect(() => {
    const socket = openSocket(SERVER_URL, currentToken);
    const connection = manageConnection(socket, {
      refresh: refreshAccessToken,
      handshakeToken: lastHandshakeToken,
      onStatus: (status) => client.setConnectionStatus(status),
      onConnected: () => void client.handleConnected(),
      onDisconnected: () => client.handleDisconnected(),
      // A refused refresh (no reason) or the server's session:ended (signed out everywhere, ...).
      onSessionEnded: (reason) => endSessionRef.current(reason),
      // Every new token goes to the open socket, which the server would otherwise end when the
      // token it connected with expires.
      currentToken,
      subscribeToken: (listener) => tokenStore.subscribe(listener),
      reauthenticate: (token) => reauthenticate(socket, token),
    });

    socket.on('message:new', client.handleMessageNew);
    socket.on('message:updated', client.handleMessageUpdated);
    socket.on('message:deleted', client.handleMessageDeleted);
    socket.on('message:reaction', client.handleMessageReaction);
    socket.on('message:read', client.handleMessageRead);
    socket.on('message:delivered', client.handleMessageDelivered);
    socket.on('typing:start', client.handleTypingStart);
    socket.on('typing:stop', client.handleTypingStop);
    socket.on('user:online', client.handleUserOnline);
    socket.on('user:offline', client.handleUserOffline);
    socket.on('user:blocked', client.handleUserBlocked);
    socket.on('user:unblocked', client.handleUserUnblocked);
    socket.on('user:updated', client.handleUserUpdated);
    socket.on('conversation:new', client.handleConversationNew);
    socket.on('conversation:member_joined', client.handleMemberJoined);
    socket.on('conversation:member_left', client.handleMemberLeft);
    socket.on('conversation:online_count', client.handleOnlineCount);
    const detachCalls = calls.attach(socket);

    function onVisibilityChange() {
      client.setVisible(document.visibilityState === 'visible');
    }
    function onBrowserOnline() {
      connection.nudge();
    }
    document.addEventListener('visibilitychange', onVisibilityChange);
    window.addEventListener('online', onBrowserOnline);
    onVisibilityChange();

    void client.start();
    connection.start();

    return () => {
      document.removeEventListener('visibilitychange', onVisibilityChange);
      window.removeEventListener('online', onBrowserOnline);
      socket.off('message:new', client.handleMessageNew);
      socket.off('message:updated', client.handleMessageUpdated);
      socket.off('message:deleted', client.handleMessageDeleted);
      socket.off('message:reaction', client.handleMessageReaction);
      socket.off('message:read', client.handleMessageRead);
      socket.off('message:delivered', client.handleMessageDelivered);
      socket.off('typing:start', client.handleTypingStart);
      socket.off('typing:stop', client.handleTypingStop);
      socket.off('user:online', client.handleUserOnline);
      socket.off('user:offline', client.handleUserOffline);
      socket.off('user:blocked', client.handleUserBlocked);
      socket.off('user:unblocked', client.handleUserUnblocked);
      socket.off('user:updated', client.handleUserUpdated);
      socket.off('conversation:new', client.handleConversationNew);
      socket.off('conversation:member_joined', client.handleMemberJoined);
      socket.off('conversation:member_left', client.handleMemberLeft);
      socket.off('conversation:online_count', client.handleOnlineCount);
      // Hangs up a call while the socket can still say so.
      detachCalls();
      connection.stop();
      closeSocket();
      client.stop();
      clearDrafts();
    };
  }, [client, calls]);

  return (
    <ChatContext.Provider value={client}>
      <CallsContext.Provider value={calls.controller}>{children}</CallsContext.Provider>
    </ChatContext.Provider>
  );
}

export function useChat(): ChatClient {
  const client = useContext(ChatContext);
  if (!client) throw new Error('useChat must be used inside <ChatProvider>');
  return client;
}

/** A slice of the chat state; the selector must return a stored value, not a new object. */
export function useChatState<T>(selector: (state: ChatState) => T): T {
  const client = useChat();
  return useSyncExternalStore(client.subscribe, () => selector(client.getState()));
}
