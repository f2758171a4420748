import { describe, expect, it, vi } from 'vitest';
import type { UploadedFile } from '../api/types';
import {
  createAttachment,
  formatFileSize,
  uploadPercent,
  type AttachmentState,
  type ChosenFile,
  type UploadFailure,
  type UploadRequestOptions,
} from './attachment';

const STORED: UploadedFile = {
  file_url: `/uploads/${'ab'.repeat(32)}.png`,
  thumbnail_url: `/uploads/${'ab'.repeat(32)}_thumb.png`,
  width: 10,
  height: 10,
  size: 100,
  mime: 'image/png',
  kind: 'image',
  name: 'photo.png',
};

const STORED_PDF: UploadedFile = {
  file_url: `/uploads/${'cd'.repeat(32)}.bin`,
  size: 8,
  mime: 'application/pdf',
  kind: 'file',
  name: 'report.pdf',
};

function png(name = 'photo.png', bytes = 1000): File {
  return new File([new Uint8Array(bytes)], name, { type: 'image/png' });
}

/** An upload whose progress and outcome the test drives. */
function controlledUpload() {
  const calls: { file: File; options: UploadRequestOptions; resolve(v: UploadedFile): void; reject(e: unknown): void }[] = [];
  const upload = vi.fn(
    (file: File, options: UploadRequestOptions) =>
      new Promise<UploadedFile>((resolve, reject) => {
        calls.push({ file, options, resolve, reject });
      }),
  );
  return { upload, calls };
}

function setup(describeFailure: (e: unknown, chosen: ChosenFile) => UploadFailure = () => ({ message: 'failed', retriable: false })) {
  const { upload, calls } = controlledUpload();
  let n = 0;
  const live = new Set<string>();
  const objectUrls = {
    create: vi.fn(() => {
      const url = `blob:preview-${++n}`;
      live.add(url);
      return url;
    }),
    revoke: vi.fn((url: string) => {
      expect(live.has(url), `${url} revoked once`).toBe(true);
      live.delete(url);
    }),
  };
  const attachment = createAttachment({ upload, describeFailure, objectUrls });
  const states: AttachmentState[] = [];
  attachment.subscribe(() => states.push(attachment.getState()));
  return { attachment, upload, calls, objectUrls, live, states };
}

describe('upload progress', () => {
  it('is a whole percentage between 0 and 100, or unknown', () => {
    expect(uploadPercent(0, 1000)).toBe(0);
    expect(uploadPercent(333, 1000)).toBe(33);
    expect(uploadPercent(999, 1000)).toBe(99);
    expect(uploadPercent(1000, 1000)).toBe(100);
    expect(uploadPercent(1200, 1000)).toBe(100);
    expect(uploadPercent(10, null)).toBeNull();
    expect(uploadPercent(10, 0)).toBeNull();
  });

  it('sizes read like people say them', () => {
    expect(formatFileSize(1)).toBe('1 byte');
    expect(formatFileSize(900)).toBe('900 bytes');
    expect(formatFileSize(830 * 1024)).toBe('830 KB');
    expect(formatFileSize(2.45 * 1024 * 1024)).toBe('2.5 MB');
  });
});

describe('image attachment', () => {
  it('shows a chosen image as a preview until it is sent or cancelled', () => {
    const { attachment, upload, objectUrls, live } = setup();
    const file = png('holiday.png', 2048);
    attachment.choose(file);
    expect(attachment.getState()).toEqual({
      phase: 'chosen',
      error: null,
      file,
      name: 'holiday.png',
      size: 2048,
      kind: 'image',
      previewUrl: 'blob:preview-1',
    });
    expect(objectUrls.create).toHaveBeenCalledWith(file);
    expect(upload).not.toHaveBeenCalled();

    attachment.cancel();
    expect(attachment.getState()).toEqual({ phase: 'empty', error: null });
    expect(objectUrls.revoke).toHaveBeenCalledWith('blob:preview-1');
    expect(live.size).toBe(0);
  });

  it('replacing the chosen image frees the earlier preview', () => {
    const { attachment, objectUrls, live } = setup();
    attachment.choose(png('a.png'));
    attachment.choose(png('b.png'));
    expect(objectUrls.revoke).toHaveBeenCalledWith('blob:preview-1');
    expect(attachment.getState()).toMatchObject({ phase: 'chosen', name: 'b.png', previewUrl: 'blob:preview-2' });
    expect([...live]).toEqual(['blob:preview-2']);
  });

  it('takes any file: one that is not an image is shown as a card, without a preview address', async () => {
    const { attachment, calls, objectUrls, live } = setup();
    const pdf = new File(['%PDF-1.7'], 'report.pdf', { type: 'application/pdf' });
    attachment.choose(pdf);
    expect(attachment.getState()).toEqual({
      phase: 'chosen',
      error: null,
      file: pdf,
      name: 'report.pdf',
      size: 8,
      kind: 'file',
      previewUrl: null,
    });
    expect(objectUrls.create).not.toHaveBeenCalled();

    const sent = attachment.submit();
    expect(attachment.getState()).toMatchObject({ phase: 'uploading', kind: 'file', loaded: 0, total: 8 });
    calls[0].options.onProgress(8, 200);
    expect(attachment.getState()).toMatchObject({ loaded: 8, total: 200 });
    calls[0].resolve(STORED_PDF);
    await expect(sent).resolves.toEqual(STORED_PDF);
    expect(attachment.getState()).toEqual({ phase: 'empty', error: null });
    expect(objectUrls.revoke).not.toHaveBeenCalled();
    expect(live.size).toBe(0);
  });

  it('a recording is an audio file; a nameless file gets a name', () => {
    const { attachment, objectUrls } = setup();
    attachment.choose(new File([new Uint8Array(10)], 'voice.webm', { type: 'audio/webm' }));
    expect(attachment.getState()).toMatchObject({ phase: 'chosen', kind: 'audio', name: 'voice.webm', previewUrl: null });
    attachment.choose(new File([new Uint8Array(3)], '', { type: '' }));
    expect(attachment.getState()).toMatchObject({ phase: 'chosen', kind: 'file', name: 'file', size: 3, previewUrl: null });
    // An SVG is not previewed from the page (it is sent as a file).
    attachment.choose(new File(['<svg/>'], 'logo.svg', { type: 'image/svg+xml' }));
    expect(attachment.getState()).toMatchObject({ kind: 'file', previewUrl: null });
    expect(objectUrls.create).not.toHaveBeenCalled();
  });

  it('a failed file upload is described with what was chosen, and swapping a file for an image frees nothing twice', async () => {
    const describeFailure = vi.fn((_error: unknown, chosen: { kind: string }) => ({
      message: `The ${chosen.kind} was not sent.`,
      retriable: true,
    }));
    const { attachment, calls, live } = setup(describeFailure);
    const pdf = new File(['%PDF'], 'a.pdf', { type: 'application/pdf' });
    attachment.choose(pdf);
    const sent = attachment.submit();
    calls[0].reject(new Error('network'));
    await expect(sent).resolves.toBeNull();
    expect(describeFailure).toHaveBeenCalledWith(expect.any(Error), expect.objectContaining({ kind: 'file', name: 'a.pdf' }));
    expect(attachment.getState()).toMatchObject({ phase: 'chosen', error: 'The file was not sent.', file: pdf });
    attachment.choose(png());
    expect([...live]).toEqual(['blob:preview-1']);
    attachment.choose(pdf);
    expect(live.size).toBe(0);
  });

  it('reports upload progress, then frees the preview once the image is stored', async () => {
    const { attachment, calls, live, states } = setup();
    const file = png('p.png', 1000);
    attachment.choose(file);
    const sent = attachment.submit();
    expect(attachment.getState()).toMatchObject({ phase: 'uploading', loaded: 0, total: 1000, previewUrl: 'blob:preview-1' });
    expect(calls).toHaveLength(1);
    expect(calls[0].file).toBe(file);

    // The multipart body is a little larger than the file.
    calls[0].options.onProgress(300, 1200);
    expect(attachment.getState()).toMatchObject({ phase: 'uploading', loaded: 300, total: 1200 });
    calls[0].options.onProgress(1200, undefined);
    expect(attachment.getState()).toMatchObject({ loaded: 1200, total: 1200 });
    expect(live.size).toBe(1); // still shown while uploading

    calls[0].resolve(STORED);
    await expect(sent).resolves.toEqual(STORED);
    expect(attachment.getState()).toEqual({ phase: 'empty', error: null });
    expect(live.size).toBe(0);
    expect(states.map((s) => s.phase)).toEqual(['chosen', 'uploading', 'uploading', 'uploading', 'empty']);
  });

  it('does not start a second upload while one runs, nor without a chosen image', async () => {
    const { attachment, upload } = setup();
    await expect(attachment.submit()).resolves.toBeNull();
    attachment.choose(png());
    void attachment.submit();
    await expect(attachment.submit()).resolves.toBeNull();
    expect(upload).toHaveBeenCalledTimes(1);
  });

  it('a refused file goes away with the reason', async () => {
    const describeFailure = vi.fn(() => ({ message: 'The image was not sent: the file is too large.', retriable: false }));
    const { attachment, calls, live } = setup(describeFailure);
    attachment.choose(png());
    const sent = attachment.submit();
    const refusal = new Error('413');
    calls[0].reject(refusal);
    await expect(sent).resolves.toBeNull();
    expect(describeFailure).toHaveBeenCalledWith(refusal, expect.objectContaining({ kind: 'image' }));
    expect(attachment.getState()).toEqual({ phase: 'empty', error: 'The image was not sent: the file is too large.' });
    expect(live.size).toBe(0);

    attachment.dismissError();
    expect(attachment.getState()).toEqual({ phase: 'empty', error: null });
  });

  it('a failure that may pass keeps the preview, so the same file can be sent again', async () => {
    const { attachment, calls, live } = setup(() => ({ message: 'offline', retriable: true }));
    const file = png();
    attachment.choose(file);
    const first = attachment.submit();
    calls[0].options.onProgress(500, 1000);
    calls[0].reject(new Error('network'));
    await expect(first).resolves.toBeNull();
    expect(attachment.getState()).toMatchObject({ phase: 'chosen', error: 'offline', file, previewUrl: 'blob:preview-1' });
    expect(live.size).toBe(1);

    const second = attachment.submit();
    expect(attachment.getState()).toMatchObject({ phase: 'uploading', loaded: 0 });
    expect(calls[1].file).toBe(file);
    calls[1].resolve(STORED);
    await expect(second).resolves.toEqual(STORED);
    expect(live.size).toBe(0);
  });

  it('cancelling an upload aborts it and ignores whatever it reports afterwards', async () => {
    const describeFailure = vi.fn(() => ({ message: 'failed', retriable: false }));
    const { attachment, calls, live } = setup(describeFailure);
    attachment.choose(png());
    const sent = attachment.submit();
    const { signal, onProgress } = calls[0].options;
    attachment.cancel();
    expect(signal.aborted).toBe(true);
    expect(attachment.getState()).toEqual({ phase: 'empty', error: null });
    expect(live.size).toBe(0);

    onProgress(900, 1000);
    expect(attachment.getState()).toEqual({ phase: 'empty', error: null });
    calls[0].reject(new Error('canceled'));
    await expect(sent).resolves.toBeNull();
    expect(describeFailure).not.toHaveBeenCalled();
    expect(attachment.getState()).toEqual({ phase: 'empty', error: null });
  });

  it('choosing another image during an upload aborts it; its late answer is not used', async () => {
    const { attachment, calls } = setup();
    attachment.choose(png('first.png'));
    const sent = attachment.submit();
    attachment.choose(png('second.png'));
    expect(calls[0].options.signal.aborted).toBe(true);
    calls[0].resolve(STORED);
    await expect(sent).resolves.toBeNull();
    expect(attachment.getState()).toMatchObject({ phase: 'chosen', name: 'second.png', previewUrl: 'blob:preview-2' });
  });

  it('reset drops everything and leaves the attachment usable', async () => {
    const { attachment, calls, live } = setup();
    attachment.reset(); // nothing to drop
    attachment.choose(png());
    void attachment.submit();
    attachment.reset();
    expect(calls[0].options.signal.aborted).toBe(true);
    expect(live.size).toBe(0);
    attachment.choose(png('again.png'));
    expect(attachment.getState()).toMatchObject({ phase: 'chosen', name: 'again.png' });
  });
});
