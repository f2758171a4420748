import axios, { type AxiosAdapter, type InternalAxiosRequestConfig } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenStore } from '../session/tokenStore';
import {
  deletePushSubscription,
  fetchVapidPublicKey,
  http,
  login,
  refreshAccessToken,
  register,
  savePushSubscription,
  updateConversationSettings,
} from './http';

// Answers every request like the server would, and remembers what was sent.
function fakeServer() {
  const sent: InternalAxiosRequestConfig[] = [];
  const adapter: AxiosAdapter = async (config) => {
    sent.push(config);
    return {
      data: { user: { id: 1, username: 'ann' }, token: 'header.payload.sig', expires_in: 900 },
      status: 200,
      statusText: 'OK',
      headers: {},
      config,
    };
  };
  return { sent, adapter };
}

const originalHttp = http.defaults.adapter;
const originalAxios = axios.defaults.adapter;

afterEach(() => {
  http.defaults.adapter = originalHttp;
  axios.defaults.adapter = originalAxios;
});

describe('the web client signal', () => {
  it('sign-in, registration and refresh say X-Client: web, so the refresh token stays in the cookie', async () => {
    const server = fakeServer();
    http.defaults.adapter = server.adapter;
    axios.defaults.adapter = server.adapter;

    await login({ username: 'ann', password: 'long enough pw' });
    await register({ username: 'ann', email: 'ann@example.com', password: 'long enough pw' });
    const outcome = await refreshAccessToken('expired');

    expect(outcome.kind).toBe('refreshed');
    expect(server.sent.map((c) => c.url)).toEqual(['/auth/login', '/auth/register', '/api/auth/refresh']);
    for (const config of server.sent) {
      expect(config.headers.get('X-Client')).toBe('web');
      expect(config.withCredentials).toBe(true);
    }
  });
});

describe('push subscriptions', () => {
  function pushServer(vapid: { status: number; data: unknown }) {
    const sent: InternalAxiosRequestConfig[] = [];
    const adapter: AxiosAdapter = async (config) => {
      sent.push(config);
      const answer =
        config.url === '/push/vapid-public-key'
          ? vapid
          : config.method === 'post'
            ? { status: 201, data: { endpoint: 'https://push.example/1', created_at: '2030-01-01T00:00:00Z' } }
            : { status: 204, data: '' };
      const response = { data: answer.data, status: answer.status, statusText: '', headers: {}, config };
      if (answer.status >= 400) throw new axios.AxiosError('refused', 'ERR_BAD_REQUEST', config, null, response);
      return response;
    };
    http.defaults.adapter = adapter;
    return sent;
  }

  it('reads the VAPID key, or null when the server has push disabled', async () => {
    pushServer({ status: 200, data: { key: 'BAbc' } });
    await expect(fetchVapidPublicKey()).resolves.toBe('BAbc');
    pushServer({ status: 404, data: { error: 'Push is disabled', code: 'push_disabled', details: null } });
    await expect(fetchVapidPublicKey()).resolves.toBeNull();
    pushServer({ status: 500, data: {} });
    await expect(fetchVapidPublicKey()).rejects.toThrow();
  });

  it('posts the subscription as the browser gives it and deletes by endpoint, with the bearer token', async () => {
    tokenStore.set('the-token');
    const sent = pushServer({ status: 200, data: { key: 'BAbc' } });
    const subscription = { endpoint: 'https://push.example/1', expirationTime: null, keys: { p256dh: 'p', auth: 'a' } };
    await savePushSubscription(subscription);
    await deletePushSubscription('https://push.example/1');
    expect(sent.map((c) => [c.method, c.url, JSON.parse(String(c.data))])).toEqual([
      ['post', '/push/subscriptions', subscription],
      ['delete', '/push/subscriptions', { endpoint: 'https://push.example/1' }],
    ]);
    for (const config of sent) expect(config.headers.get('Authorization')).toBe('Bearer the-token');
    tokenStore.set(null);
  });
});

describe('conversation settings', () => {
  it('sends muted_until with mute_mentions when given, muted_until alone to unmute, and answers the conversation', async () => {
    const sent: InternalAxiosRequestConfig[] = [];
    http.defaults.adapter = async (config) => {
      sent.push(config);
      const body = JSON.parse(String(config.data)) as { muted_until: string | null; mute_mentions?: boolean };
      const data = { id: 20, type: 'group', muted_until: body.muted_until, mute_mentions: body.mute_mentions ?? false };
      return { data, status: 200, statusText: 'OK', headers: {}, config };
    };

    const muted = await updateConversationSettings(20, { muted_until: '2030-06-15T19:00:00.000Z', mute_mentions: true });
    expect(muted).toMatchObject({ id: 20, muted_until: '2030-06-15T19:00:00.000Z', mute_mentions: true });
    const unmuted = await updateConversationSettings(20, { muted_until: null });
    expect(unmuted).toMatchObject({ muted_until: null, mute_mentions: false });

    expect(sent.map((c) => [c.method, c.url, JSON.parse(String(c.data))])).toEqual([
      ['put', '/conversations/20/settings', { muted_until: '2030-06-15T19:00:00.000Z', mute_mentions: true }],
      ['put', '/conversations/20/settings', { muted_until: null }],
    ]);
  });
});
