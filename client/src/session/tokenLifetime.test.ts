import { describe, expect, it } from 'vitest';
import { jwt } from '../test/fixtures';
import { createTokenLifetimes, decodeJwtClaims, refreshDelayMs } from './tokenLifetime';

describe('access token claims', () => {
  it('reads exp and iat from a JWT', () => {
    expect(decodeJwtClaims(jwt({ sub: '7', username: 'zoë', iat: 1000, exp: 1900 }))).toEqual({
      sub: '7',
      iat: 1000,
      exp: 1900,
    });
  });

  it('tells that something is not a JWT', () => {
    expect(decodeJwtClaims('opaque-token')).toBeNull();
    expect(decodeJwtClaims('a.%%%.c')).toBeNull();
    expect(decodeJwtClaims(`x.${btoa('[1]')}.y`)).toBeNull();
    expect(decodeJwtClaims(jwt({ exp: 'soon' }))).toEqual({ exp: undefined, iat: undefined, sub: undefined });
  });
});

describe('when to refresh', () => {
  it('is 60 s before expiry', () => {
    expect(refreshDelayMs(900_000)).toBe(840_000);
    expect(refreshDelayMs(3_600_000)).toBe(3_540_000);
    expect(refreshDelayMs(70_000)).toBe(10_000);
  });

  it('is at 80 % of a lifetime too short for that', () => {
    expect(refreshDelayMs(69_000)).toBe(55_200);
    expect(refreshDelayMs(60_000)).toBe(48_000);
    expect(refreshDelayMs(10_000)).toBe(8_000);
    expect(refreshDelayMs(0)).toBe(0);
  });
});

describe('token lifetimes', () => {
  it('trusts expires_in of a fresh answer, whatever the device clock says', () => {
    let now = 5_000_000;
    const lifetimes = createTokenLifetimes(() => now);
    // The device clock is 10 minutes behind the server's.
    const token = jwt({ iat: 5_600, exp: 6_500 });
    lifetimes.issued(token, 900);
    expect(lifetimes.expiryOf(token)).toEqual({ expiresAt: 5_900_000, lifetimeMs: 900_000 });
    expect(lifetimes.refreshAt(token)).toBe(5_840_000);
    now += 1_000;
    expect(lifetimes.refreshAt(token)).toBe(5_840_000);
  });

  it('judges other tokens by exp, corrected by the clock difference seen last', () => {
    const now = 5_000_000;
    const lifetimes = createTokenLifetimes(() => now);
    const other = jwt({ iat: 5_700, exp: 6_600 });
    // Before any answer: the device clock is taken as right.
    expect(lifetimes.expiryOf(other)).toEqual({ expiresAt: 6_600_000, lifetimeMs: 900_000 });
    lifetimes.issued(jwt({ iat: 5_600, exp: 6_500 }), 900); // the device is 600 s behind
    expect(lifetimes.expiryOf(other)).toEqual({ expiresAt: 6_000_000, lifetimeMs: 900_000 });
    expect(lifetimes.refreshAt(other)).toBe(5_940_000);
  });

  it('uses the time left when the token has no iat, and cannot tell without exp', () => {
    const lifetimes = createTokenLifetimes(() => 1_000_000);
    expect(lifetimes.expiryOf(jwt({ exp: 1_030 }))).toEqual({ expiresAt: 1_030_000, lifetimeMs: 30_000 });
    expect(lifetimes.refreshAt(jwt({ exp: 1_030 }))).toBe(1_024_000);
    expect(lifetimes.expiryOf(jwt({ sub: '1' }))).toBeNull();
    expect(lifetimes.refreshAt('opaque')).toBeNull();
  });

  it('ignores a missing or nonsensical expires_in', () => {
    const lifetimes = createTokenLifetimes(() => 0);
    const token = jwt({ iat: 100, exp: 170 });
    lifetimes.issued(token, undefined);
    lifetimes.issued(token, -5);
    expect(lifetimes.expiryOf(token)).toEqual({ expiresAt: 170_000, lifetimeMs: 70_000 });
    expect(lifetimes.refreshAt(token)).toBe(110_000);
  });
});
