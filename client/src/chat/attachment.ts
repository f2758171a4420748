// The file being attached in the composer, without React: chosen (an image shown from an object
// URL, any other file as a card, with Send and Cancel), then uploading (bytes sent so far, for a
// progress bar), then gone (sent, cancelled, or refused with a message). The object URL of an
// image's preview is revoked as soon as the preview is no longer needed, and a cancelled upload is
// aborted. The server decides what the file is (image, voice message or other file) from its bytes.

import type { AttachmentKind, UploadedFile } from '../api/types';
import { previewKind } from './files';

/** Image types the server accepts as images (other files are sent as files). */
export const ACCEPTED_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

export interface ChosenFile {
  file: File;
  name: string;
  /** Bytes. */
  size: number;
  /** What the file looks like before the server reads it: images get a preview. */
  kind: AttachmentKind;
  /** Object URL showing an image; null for other files. */
  previewUrl: string | null;
}

export type AttachmentState =
  /** Nothing chosen; `error` says why the last file was not sent. */
  | { phase: 'empty'; error: string | null }
  /** Chosen and shown, not sent yet (again, after a failure that may pass: `error`). */
  | ({ phase: 'chosen'; error: string | null } & ChosenFile)
  /** Being uploaded: `loaded` of `total` bytes (`total` null when unknown). */
  | ({ phase: 'uploading'; loaded: number; total: number | null } & ChosenFile);

export const EMPTY_ATTACHMENT: AttachmentState = { phase: 'empty', error: null };

/** Share of the upload done, 0 to 100 (whole numbers), or null when it cannot be told. */
export function uploadPercent(loaded: number, total: number | null): number | null {
  if (total === null || !(total > 0) || !Number.isFinite(loaded)) return null;
  return Math.min(100, Math.max(0, Math.floor((loaded / total) * 100)));
}

/** "2.4 MB", "830 KB", "12 bytes". */
export function formatFileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** What became of a failed upload. */
export interface UploadFailure {
  /** The sentence to show. */
  message: string;
  /** Whether sending the same file again may work (the server could not be reached, ...). */
  retriable: boolean;
}

export interface UploadRequestOptions {
  onProgress: (loaded: number, total: number | undefined) => void;
  signal: AbortSignal;
}

export interface AttachmentOptions {
  upload: (file: File, options: UploadRequestOptions) => Promise<UploadedFile>;
  describeFailure: (error: unknown, file: ChosenFile) => UploadFailure;
  /** Makes and frees preview addresses (default: `URL.createObjectURL` / `URL.revokeObjectURL`). */
  objectUrls?: { create(file: Blob): string; revoke(url: string): void };
}

export interface Attachment {
  getState(): AttachmentState;
  subscribe(listener: () => void): () => void;
  /** Shows `file` for confirmation, replacing (and aborting) any earlier one. */
  choose(file: File): void;
  /** Drops the chosen file, aborting its upload. */
  cancel(): void;
  /** Uploads the chosen file; resolves to the stored upload, or null (cancelled, failed, nothing chosen). */
  submit(): Promise<UploadedFile | null>;
  /** Forgets the error message. */
  dismissError(): void;
  /** Drops everything (the composer goes away); the attachment may be used again afterwards. */
  reset(): void;
}

export function createAttachment(options: AttachmentOptions): Attachment {
  const { upload, describeFailure } = options;
  const urls = options.objectUrls ?? {
    create: (file: Blob) => URL.createObjectURL(file),
    revoke: (url: string) => URL.revokeObjectURL(url),
  };
  let state: AttachmentState = EMPTY_ATTACHMENT;
  let controller: AbortController | null = null;
  const listeners = new Set<() => void>();

  function set(next: AttachmentState) {
    if (
      state.phase !== 'empty' &&
      state.previewUrl !== null &&
      (next.phase === 'empty' || next.previewUrl !== state.previewUrl)
    ) {
      urls.revoke(state.previewUrl);
    }
    state = next;
    for (const listener of [...listeners]) listener();
  }

  function abort() {
    controller?.abort();
    controller = null;
  }

  function chosen(file: ChosenFile): ChosenFile {
    return { file: file.file, name: file.name, size: file.size, kind: file.kind, previewUrl: file.previewUrl };
  }

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    choose(file) {
      abort();
      const kind = previewKind(file.type);
      const previewUrl = kind === 'image' ? urls.create(file) : null;
      const name = file.name || (kind === 'image' ? 'image' : 'file');
      set({ phase: 'chosen', error: null, file, name, size: file.size, kind, previewUrl });
    },

    cancel() {
      abort();
      if (state.phase !== 'empty' || state.error !== null) set(EMPTY_ATTACHMENT);
    },

    async submit() {
      if (state.phase !== 'chosen') return null;
      const picked = chosen(state);
      const request = new AbortController();
      controller = request;
      set({ phase: 'uploading', ...picked, loaded: 0, total: picked.size > 0 ? picked.size : null });
      const current = () => controller === request && !request.signal.aborted;
      try {
        const uploaded = await upload(picked.file, {
          signal: request.signal,
          onProgress(loaded, total) {
            if (!current() || state.phase !== 'uploading') return;
            // A retried request (after a token refresh) starts again from zero.
            set({ ...state, loaded, total: total && total > 0 ? total : state.total });
          },
        });
        if (!current()) return null;
        controller = null;
        set(EMPTY_ATTACHMENT);
        return uploaded;
      } catch (error) {
        if (!current()) return null;
        controller = null;
        const failure = describeFailure(error, picked);
        set(failure.retriable ? { phase: 'chosen', error: failure.message, ...picked } : { phase: 'empty', error: failure.message });
        return null;
      }
    },

    dismissError() {
      if (state.phase !== 'uploading' && state.error !== null) set({ ...state, error: null });
    },

    reset() {
      abort();
      if (state.phase !== 'empty' || state.error !== null) set(EMPTY_ATTACHMENT);
    },
  };
}
