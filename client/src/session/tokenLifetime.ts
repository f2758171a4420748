// When the access token expires, and so when to refresh it. Register, login and refresh answers
// say how long the new token lives (`expires_in`, seconds), which is exact whatever the device's
// clock says; a token found in storage (after a reload, or written by another tab) is judged by its
// `exp` claim, corrected by the difference between this device's clock and the server's that was
// seen with the last answer.

/** How long before expiry the token is refreshed. */
export const REFRESH_LEAD_MS = 60_000;
/** Below this much time between issue and the refresh, the lead is a share of the lifetime. */
export const MIN_REFRESH_DELAY_MS = 10_000;
/** Share of a short lifetime after which the token is refreshed. */
export const SHORT_LIFETIME_SHARE = 0.8;

export interface TokenClaims {
  /** Seconds since the epoch (server clock). */
  exp?: number;
  iat?: number;
  sub?: string;
}

/** The claims of a JWT, or null when `token` is not one (the signature is not checked). */
export function decodeJwtClaims(token: string): TokenClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const binary = atob(padded);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return null;
    const { exp, iat, sub } = claims as Record<string, unknown>;
    return {
      exp: typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined,
      iat: typeof iat === 'number' && Number.isFinite(iat) ? iat : undefined,
      sub: typeof sub === 'string' ? sub : undefined,
    };
  } catch {
    return null;
  }
}

/**
 * How long after issue a token living `lifetimeMs` is refreshed: 60 s before it expires, or, when
 * that would leave less than 10 s (lifetimes under 70 s), at 80 % of its lifetime.
 */
export function refreshDelayMs(lifetimeMs: number): number {
  if (!(lifetimeMs > 0)) return 0;
  const beforeExpiry = lifetimeMs - REFRESH_LEAD_MS;
  return beforeExpiry >= MIN_REFRESH_DELAY_MS ? beforeExpiry : Math.round(lifetimeMs * SHORT_LIFETIME_SHARE);
}

export interface TokenExpiry {
  /** When the token expires, on this device's clock (ms since the epoch). */
  expiresAt: number;
  /** How long the token lives from issue to expiry (ms). */
  lifetimeMs: number;
}

export interface TokenLifetimes {
  /** Records a token just received with its `expires_in` (seconds). */
  issued(token: string, expiresInSeconds: number | undefined): void;
  /** When `token` expires, or null when that cannot be told (not a JWT, no `exp`). */
  expiryOf(token: string): TokenExpiry | null;
  /** When `token` should be refreshed (ms since the epoch, this device's clock), or null. */
  refreshAt(token: string): number | null;
}

export function createTokenLifetimes(now: () => number = Date.now): TokenLifetimes {
  /** The last token received with its lifetime. */
  let latest: { token: string; expiry: TokenExpiry } | null = null;
  /** This device's clock minus the server's (ms), as seen with the last answer. */
  let clockOffsetMs = 0;

  function expiryOf(token: string): TokenExpiry | null {
    if (latest?.token === token) return latest.expiry;
    const claims = decodeJwtClaims(token);
    if (claims?.exp === undefined) return null;
    const expiresAt = claims.exp * 1000 + clockOffsetMs;
    const lifetimeMs =
      claims.iat !== undefined && claims.exp > claims.iat
        ? (claims.exp - claims.iat) * 1000
        : Math.max(0, expiresAt - now());
    return { expiresAt, lifetimeMs };
  }

  return {
    issued(token, expiresInSeconds) {
      if (typeof expiresInSeconds !== 'number' || !Number.isFinite(expiresInSeconds) || expiresInSeconds <= 0) {
        return;
      }
      const lifetimeMs = expiresInSeconds * 1000;
      const expiresAt = now() + lifetimeMs;
      latest = { token, expiry: { expiresAt, lifetimeMs } };
      const exp = decodeJwtClaims(token)?.exp;
      if (exp !== undefined) clockOffsetMs = expiresAt - exp * 1000;
    },
    expiryOf,
    refreshAt(token) {
      const expiry = expiryOf(token);
      if (!expiry) return null;
      const lead = expiry.lifetimeMs - refreshDelayMs(expiry.lifetimeMs);
      return expiry.expiresAt - lead;
    },
  };
}

/** The application's record of token lifetimes. */
export const tokenLifetimes: TokenLifetimes = createTokenLifetimes();
