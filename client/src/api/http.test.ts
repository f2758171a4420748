import axios, { type AxiosAdapter, type InternalAxiosRequestConfig } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { http, login, refreshAccessToken, register } from './http';

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
