import { describe, expect, it } from 'vitest';
import { serverAddress, thumbnailUrl } from './media';

const HASH = 'ab'.repeat(32);

describe('media addresses', () => {
  it('names the thumbnail of an uploaded image', () => {
    expect(thumbnailUrl(`/uploads/${HASH}.png`)).toBe(`/uploads/${HASH}_thumb.png`);
    expect(thumbnailUrl(`/uploads/${HASH}.webp`)).toBe(`/uploads/${HASH}_thumb.webp`);
  });

  it('leaves other addresses alone', () => {
    expect(thumbnailUrl(`/uploads/${HASH}_thumb.png`)).toBe(`/uploads/${HASH}_thumb.png`);
    expect(thumbnailUrl('/uploads/picture.png')).toBe('/uploads/picture.png');
    expect(thumbnailUrl(`https://example.com/uploads/${HASH}.png`)).toBe(`https://example.com/uploads/${HASH}.png`);
  });

  it('puts server paths on the server origin', () => {
    expect(serverAddress('/uploads/x.png', '')).toBe('/uploads/x.png');
    expect(serverAddress('/uploads/x.png', 'https://chat.example')).toBe('https://chat.example/uploads/x.png');
    expect(serverAddress('//evil.example/x.png', 'https://chat.example')).toBe('//evil.example/x.png');
  });
});
