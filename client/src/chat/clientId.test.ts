import { describe, expect, it } from 'vitest';
import { newClientId } from './clientId';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('client ids', () => {
  it('uses crypto.randomUUID where it exists', () => {
    expect(newClientId()).toMatch(UUID_V4);
    expect(newClientId()).not.toBe(newClientId());
  });

  it('builds a version 4 UUID from random bytes outside secure contexts', () => {
    const source = { getRandomValues: (array: Uint8Array<ArrayBuffer>) => crypto.getRandomValues(array) };
    const ids = new Set(Array.from({ length: 50 }, () => newClientId(source)));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(UUID_V4);
  });
});
