// Minimal JWT tooling to craft hostile tokens (forged, expired, unsigned, tampered).

import { createHmac } from 'node:crypto';

export function b64url(input) {
  return Buffer.from(typeof input === 'string' ? input : JSON.stringify(input)).toString('base64url');
}

/** Splits a JWT into its decoded header and payload plus the raw parts. */
export function decode(token) {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
    parts: [h, p, s],
  };
}

/** An HS256 JWT over `payload` signed with `secret`. */
export function signHs256(payload, secret, header = { alg: 'HS256', typ: 'JWT' }) {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** An unsigned JWT (`alg: "none"`), optionally with a signature part appended anyway. */
export function unsigned(payload, signature = '') {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.${signature}`;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
