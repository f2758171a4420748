// The REST client. Every request carries the access token; a 401 triggers one token refresh and
// one retry of the request, and a refused refresh ends the session (the token store is cleared,
// which sends the app to the sign-in page).

import axios, { AxiosHeaders, type AxiosError, type InternalAxiosRequestConfig } from 'axios';
import { createRefresher, webLock, type Refresh } from '../session/refresh';
import { sessionNotice } from '../session/sessionNotice';
import { tokenLifetimes } from '../session/tokenLifetime';
import { tokenStore } from '../session/tokenStore';
import { collectPages, type ConversationListPage } from '../chat/conversations';
import type { MuteSettings } from '../chat/mute';
import type { SearchPage } from '../chat/search';
import type {
  AuthResponse,
  Conversation,
  CurrentUser,
  MessagePage,
  Room,
  UploadedFile,
  UploadedImage,
  User,
} from './types';

/** Origin of the chat server; empty means the page's own origin. */
export const SERVER_URL: string = (import.meta.env.VITE_SERVER_URL as string | undefined) ?? '';

/**
 * Tells the server this is the web client: the refresh token then lives only in its HttpOnly
 * cookie, and authentication answers leave it out of their JSON body (where a script injected into
 * the page could read it).
 */
export const WEB_CLIENT_HEADERS = { 'X-Client': 'web' } as const;

export const http = axios.create({
  baseURL: `${SERVER_URL}/api`,
  withCredentials: true,
  timeout: 20_000,
  headers: { Accept: 'application/json', ...WEB_CLIENT_HEADERS },
});

/** Requests that must never trigger a refresh: their 401 means wrong credentials. */
const AUTH_ENDPOINTS = ['/auth/login', '/auth/register', '/auth/refresh', '/auth/logout'];

export function isRefusal(error: unknown): boolean {
  if (!axios.isAxiosError(error) || !error.response) return false;
  const status = error.response.status;
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

export const refreshAccessToken: Refresh = createRefresher({
  store: tokenStore,
  lock: webLock('chat-token-refresh'),
  isRejection: isRefusal,
  request: async () => {
    const response = await axios.post<AuthResponse>(
      `${SERVER_URL}/api/auth/refresh`,
      {},
      { withCredentials: true, timeout: 20_000, headers: { ...WEB_CLIENT_HEADERS } },
    );
    const { token, expires_in } = response.data ?? {};
    if (!token) throw new Error('The refresh answer carried no token');
    tokenLifetimes.issued(token, expires_in);
    return token;
  },
});

type RetriableConfig = InternalAxiosRequestConfig & { _retried?: boolean; _token?: string | null };

http.interceptors.request.use((config: RetriableConfig) => {
  const token = tokenStore.get();
  config._token = token;
  const headers = AxiosHeaders.from(config.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  else headers.delete('Authorization');
  config.headers = headers;
  return config;
});

http.interceptors.response.use(undefined, async (error: AxiosError) => {
  const config = error.config as RetriableConfig | undefined;
  const isAuthEndpoint = AUTH_ENDPOINTS.some((path) => config?.url?.startsWith(path));
  if (!config || error.response?.status !== 401 || config._retried || isAuthEndpoint) {
    throw error;
  }
  const outcome = await refreshAccessToken(config._token ?? null);
  if (outcome.kind === 'refreshed') {
    config._retried = true;
    return http.request(config);
  }
  if (outcome.kind === 'rejected') {
    // The sign-in page says why.
    sessionNotice.set(undefined);
    tokenStore.set(null);
  }
  throw error;
});

// ---- endpoints ----

export interface LoginRequest {
  username?: string;
  email?: string;
  password: string;
}

export interface RegisterRequest {
  username: string;
  email: string;
  password: string;
}

/** Signs in; the caller stores the token (its lifetime is recorded here). */
export async function login(body: LoginRequest): Promise<AuthResponse> {
  const { data } = await http.post<AuthResponse>('/auth/login', body);
  tokenLifetimes.issued(data.token, data.expires_in);
  return data;
}

/** Creates the account and signs in; the caller stores the token (its lifetime is recorded here). */
export async function register(body: RegisterRequest): Promise<AuthResponse> {
  const { data } = await http.post<AuthResponse>('/auth/register', body);
  tokenLifetimes.issued(data.token, data.expires_in);
  return data;
}

export async function logout(): Promise<void> {
  await http.post('/auth/logout');
}

export async function fetchMe(): Promise<CurrentUser> {
  return (await http.get<{ user: CurrentUser }>('/auth/me')).data.user;
}

/** Fills the fields that a bare conversation may leave out. */
export function normaliseConversation(raw: Conversation): Conversation {
  return {
    ...raw,
    name: raw.name ?? null,
    members: raw.members ?? [],
    last_message: raw.last_message ?? null,
    unread_count: raw.unread_count ?? 0,
  };
}

function unwrapConversation(data: Conversation | { conversation: Conversation }): Conversation {
  return normaliseConversation('conversation' in data ? data.conversation : data);
}

/** Conversations per request: the list comes in pages, newest activity first. */
const CONVERSATION_PAGE = 100;

/** Every conversation of the user, read page by page (`before` = the previous `next_before`). */
export async function listConversations(): Promise<Conversation[]> {
  const all = await collectPages(async (before) => {
    const params: Record<string, string | number> = { limit: CONVERSATION_PAGE };
    if (before) params.before = before;
    const { data } = await http.get<ConversationListPage>('/conversations', { params });
    return data;
  });
  return all.map(normaliseConversation);
}

export async function getConversation(id: number): Promise<Conversation> {
  const { data } = await http.get<Conversation | { conversation: Conversation }>(`/conversations/${id}`);
  return unwrapConversation(data);
}

export async function createDirectConversation(userId: number): Promise<Conversation> {
  const { data } = await http.post<Conversation | { conversation: Conversation }>('/conversations', {
    user_id: userId,
  });
  return unwrapConversation(data);
}

export async function createGroupConversation(
  name: string,
  memberIds: number[],
  isPublic = false,
): Promise<Conversation> {
  const { data } = await http.post<Conversation | { conversation: Conversation }>('/conversations', {
    type: 'group',
    name,
    member_ids: memberIds,
    is_public: isPublic,
  });
  return unwrapConversation(data);
}

/** Public rooms, most recently active first, whether or not the caller is in them. */
export async function listRooms(options: { limit?: number; offset?: number } = {}): Promise<Room[]> {
  const { data } = await http.get<{ rooms: Room[] }>('/rooms', {
    params: { limit: options.limit ?? 50, offset: options.offset ?? 0 },
  });
  return data.rooms.map((room) => ({ ...normaliseConversation(room), is_member: room.is_member === true }));
}

/** Joins a public room; answers the conversation as a member sees it. */
export async function joinConversation(id: number): Promise<Conversation> {
  const { data } = await http.post<Conversation | { conversation: Conversation }>(`/conversations/${id}/join`);
  return unwrapConversation(data);
}

/** Leaves a group or room (a direct conversation cannot be left). */
export async function leaveConversation(id: number): Promise<void> {
  await http.post(`/conversations/${id}/leave`);
}

/** Adds a user to a group or room; answers the conversation. 409 `already_member` if they are in. */
export async function addMember(id: number, userId: number): Promise<Conversation> {
  const { data } = await http.post<Conversation | { conversation: Conversation }>(`/conversations/${id}/members`, {
    user_id: userId,
  });
  return unwrapConversation(data);
}

/** Newest first, `before` a message id. */
export async function fetchMessagesBefore(
  conversationId: number,
  options: { before?: number; limit?: number } = {},
): Promise<MessagePage> {
  const params: Record<string, number> = { limit: options.limit ?? 50 };
  if (options.before !== undefined) params.before = options.before;
  const { data } = await http.get<MessagePage>(`/conversations/${conversationId}/messages`, { params });
  return data;
}

/** Oldest first, the messages whose seq is greater than `afterSeq`. */
export async function fetchMessagesAfterSeq(
  conversationId: number,
  afterSeq: number,
  limit = 100,
): Promise<MessagePage> {
  const { data } = await http.get<MessagePage>(`/conversations/${conversationId}/messages`, {
    params: { after_seq: afterSeq, limit },
  });
  return data;
}

/** In revision order, the current state of every message created or changed after `afterRev`. */
export async function fetchMessagesAfterRev(
  conversationId: number,
  afterRev: number,
  limit = 100,
): Promise<MessagePage> {
  const { data } = await http.get<MessagePage>(`/conversations/${conversationId}/messages`, {
    params: { after_rev: afterRev, limit },
  });
  return data;
}

/** The replies to a message (its thread), oldest first, those after reply `after`. */
export async function fetchReplies(messageId: number, options: { after?: number; limit?: number } = {}): Promise<MessagePage> {
  const params: Record<string, number> = { limit: options.limit ?? 50 };
  if (options.after !== undefined) params.after = options.after;
  const { data } = await http.get<MessagePage>(`/messages/${messageId}/replies`, { params });
  return data;
}

/** `GET /api/search/messages`: the user's messages matching `query`, best first, then newest. */
export async function searchMessages(
  options: { query: string; conversationId?: number; senderId?: number; limit?: number; offset?: number },
  signal?: AbortSignal,
): Promise<SearchPage> {
  const params: Record<string, string | number> = { query: options.query, limit: options.limit ?? 20 };
  if (options.conversationId !== undefined) params.conversation_id = options.conversationId;
  if (options.senderId !== undefined) params.sender_id = options.senderId;
  if (options.offset) params.offset = options.offset;
  const { data } = await http.get<SearchPage>('/search/messages', { params, signal });
  return data;
}

/** Who reacted to a message: per emoji, the full count and the first reactors in order. */
export interface MessageReactors {
  message_id: number;
  reactions: { emoji: string; count: number; users: Pick<User, 'id' | 'username' | 'avatar_url'>[] }[];
}

/** `GET /api/messages/:id/reactions`. */
export async function fetchReactions(messageId: number): Promise<MessageReactors> {
  const { data } = await http.get<MessageReactors>(`/messages/${messageId}/reactions`);
  return data;
}

/** Sets the user's own mute setting of a conversation: `muted_until` (`null` unmutes) and, for a
 * group, whether its mentions are muted too (left out: not). Answers the conversation. */
export async function updateConversationSettings(id: number, settings: MuteSettings): Promise<Conversation> {
  const body: MuteSettings = { muted_until: settings.muted_until };
  if (settings.mute_mentions !== undefined) body.mute_mentions = settings.mute_mentions;
  const { data } = await http.put<Conversation | { conversation: Conversation }>(`/conversations/${id}/settings`, body);
  return unwrapConversation(data);
}

export async function searchUsers(query: string, signal?: AbortSignal): Promise<User[]> {
  const { data } = await http.get<{ users: User[] }>('/users/search', { params: { query }, signal });
  return data.users;
}

/** `PATCH /api/users/me`: a field left out stays, `null` removes it; `avatar` is the `file_url`
 * of an image the user uploaded. Answers the user's own user. */
export async function updateProfile(changes: {
  display_name?: string | null;
  bio?: string | null;
  avatar?: string | null;
}): Promise<CurrentUser> {
  return (await http.patch<{ user: CurrentUser }>('/users/me', changes)).data.user;
}

/** `POST /api/auth/change-password` (204): the user's other sessions end, this one goes on. */
export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await http.post('/auth/change-password', { current_password: currentPassword, new_password: newPassword });
}

/** `GET /api/users/me/blocks`: the users the caller blocked, the latest first. */
export async function listBlockedUsers(): Promise<User[]> {
  const { data } = await http.get<{ users: User[] }>('/users/me/blocks');
  return data.users;
}

/** `POST /api/users/:id/block` (204; blocking again changes nothing). */
export async function blockUser(id: number): Promise<void> {
  await http.post(`/users/${id}/block`);
}

/** `DELETE /api/users/:id/block` (204; unblocking someone not blocked changes nothing). */
export async function unblockUser(id: number): Promise<void> {
  await http.delete(`/users/${id}/block`);
}

/** `GET /api/push/vapid-public-key`: the server's VAPID public key (base64url), or null when the
 * server sends no notifications (404 `push_disabled`). */
export async function fetchVapidPublicKey(): Promise<string | null> {
  try {
    return (await http.get<{ key: string }>('/push/vapid-public-key')).data.key;
  } catch (error) {
    if (axios.isAxiosError(error) && error.response?.status === 404) return null;
    throw error;
  }
}

/** `POST /api/push/subscriptions` (201): this browser's push subscription, tied to this session. */
export async function savePushSubscription(subscription: PushSubscriptionJSON): Promise<void> {
  await http.post('/push/subscriptions', subscription);
}

/** `DELETE /api/push/subscriptions` (204, also for an endpoint the server does not know). */
export async function deletePushSubscription(endpoint: string): Promise<void> {
  await http.delete('/push/subscriptions', { data: { endpoint } });
}

/** `GET /api/calls/ice-servers`: the STUN and TURN servers for a new call (TURN credentials
 * expire, so they are read before each call). */
export async function fetchIceServers(): Promise<RTCIceServer[]> {
  const { data } = await http.get<{ ice_servers?: RTCIceServer[]; expires_at?: string }>('/calls/ice-servers');
  return Array.isArray(data?.ice_servers) ? data.ice_servers : [];
}

export interface UploadOptions {
  /** Called as the body goes out: bytes sent and, when known, the body's size. */
  onProgress?: (loaded: number, total: number | undefined) => void;
  /** Aborts the upload. */
  signal?: AbortSignal;
}

/** Uploads an image (multipart field `image`); the answer's `file_url` goes into an image message. */
export async function uploadImage(file: Blob, fileName = 'image', options: UploadOptions = {}): Promise<UploadedImage> {
  const form = new FormData();
  form.append('image', file, file instanceof File ? file.name : fileName);
  const { onProgress, signal } = options;
  const { data } = await http.post<UploadedImage>('/upload', form, {
    timeout: 120_000,
    signal,
    onUploadProgress: onProgress ? (event) => onProgress(event.loaded, event.total || undefined) : undefined,
  });
  return data;
}

/** Uploads any file (multipart field `file`); the answer's `kind` is the `message_type` to post it as. */
export async function uploadFile(file: Blob, fileName = 'file', options: UploadOptions = {}): Promise<UploadedFile> {
  const form = new FormData();
  form.append('file', file, file instanceof File && file.name ? file.name : fileName);
  const { onProgress, signal } = options;
  const { data } = await http.post<UploadedFile>('/upload', form, {
    timeout: 120_000,
    signal,
    onUploadProgress: onProgress ? (event) => onProgress(event.loaded, event.total || undefined) : undefined,
  });
  return data;
}
