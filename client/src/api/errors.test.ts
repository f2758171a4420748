import { AxiosError, AxiosHeaders } from 'axios';
import { describe, expect, it } from 'vitest';
import { describeError, splitFieldErrors } from './errors';

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
