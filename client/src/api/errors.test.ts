import { AxiosError, AxiosHeaders } from 'axios';
import { describe, expect, it } from 'vitest';
import { describeError, describeUploadError, splitFieldErrors } from './errors';

function httpError(status: number, data: unknown): AxiosError {
  const config = { headers: new AxiosHeaders() };
  return new AxiosError('Request failed', 'ERR_BAD_REQUEST', config, {}, {
    status,
    statusText: '',
    data,
    headers: {},
    config,
  });
}

describe('error descriptions', () => {
  it('uses the server sentence and per-field details', () => {
    const problem = describeError(
      httpError(400, {
        error: 'Validation failed',
        code: 'validation_failed',
        details: { username: ['is taken'], password: ['is too short', 'needs a digit'] },
      }),
    );
    expect(problem).toMatchObject({
      message: 'Validation failed',
      code: 'validation_failed',
      status: 400,
      fieldErrors: { username: ['is taken'], password: ['is too short', 'needs a digit'] },
    });
  });

  it('explains an unreachable server and unknown bodies', () => {
    const config = { headers: new AxiosHeaders() };
    expect(describeError(new AxiosError('Network Error', 'ERR_NETWORK', config)).message).toMatch(/reach the server/);
    expect(describeError(httpError(502, '<html>')).message).toMatch(/502/);
    expect(describeError(new Error('boom')).message).toBe('boom');
  });

  it('separates errors of fields the form has from the others', () => {
    expect(splitFieldErrors({ email: ['is invalid'], member_ids: ['too many'] }, ['email'])).toEqual({
      byField: { email: 'is invalid' },
      other: ['member_ids: too many'],
    });
  });
});

describe('upload error descriptions', () => {
  it('says why the server refused the file, and that sending it again will not help', () => {
    expect(describeUploadError(httpError(413, { error: 'payload too large', code: 'payload_too_large' }))).toEqual({
      message: 'The image was not sent: the file is too large.',
      retriable: false,
    });
    expect(describeUploadError(httpError(413, { error: 'too many pixels', code: 'image_too_large' })).message).toBe(
      'The image was not sent: the image is too large (too many pixels or frames).',
    );
    expect(describeUploadError(httpError(413, { error: 'upload quota exceeded', code: 'quota_exceeded' }), 'file')).toEqual({
      message: 'The file was not sent: your storage for uploads is full.',
      retriable: false,
    });
    expect(describeUploadError(httpError(413, { error: 'payload too large', code: 'payload_too_large' }), 'voice message').message).toBe(
      'The voice message was not sent: the file is too large.',
    );
    expect(describeUploadError(httpError(415, { error: 'not an image', code: 'unsupported_media_type' }))).toEqual({
      message: 'The image was not sent: the file is not a PNG, JPEG, GIF or WebP image.',
      retriable: false,
    });
    // A 413 from a proxy, without the server's JSON body.
    expect(describeUploadError(httpError(413, '<html>Request Entity Too Large</html>')).message).toBe(
      'The image was not sent: the file is too large.',
    );
  });

  it('lets the same file be sent again when the server could not be reached or was busy', () => {
    const offline = new AxiosError('Network Error', 'ERR_NETWORK', { headers: new AxiosHeaders() });
    expect(describeUploadError(offline)).toEqual({
      message: 'The image was not sent: Could not reach the server. Check your connection and try again.',
      retriable: true,
    });
    expect(describeUploadError(httpError(503, { error: 'unavailable', code: 'unavailable' })).retriable).toBe(true);
    expect(describeUploadError(httpError(429, { error: 'slow down', code: 'rate_limited' })).retriable).toBe(true);
    expect(describeUploadError(httpError(400, { error: 'no image field', code: 'validation_failed' }))).toEqual({
      message: 'The image was not sent: no image field',
      retriable: false,
    });
  });
});
