// The image being attached in the composer, without React: chosen (a preview from an object URL,
// with Send and Cancel), then uploading (bytes sent so far, for a progress bar), then gone (sent,
// cancelled, or refused with a message). The object URL of the preview is revoked as soon as the
// preview is no longer needed, and a cancelled upload is aborted.

import type { UploadedImage } from '../api/types';

/** Image types the server accepts. */
export const ACCEPTED_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

export interface ChosenImage {
  file: File;
  name: string;
  /** Bytes. */
  size: number;
  /** Object URL showing the file. */
  previewUrl: string;
}

export type AttachmentState =
  /** Nothing chosen; `error` says why the last image was not sent. */
  | { phase: 'empty'; error: string | null }
  /** Chosen and shown, not sent yet (again, after a failure that may pass: `error`). */
  | ({ phase: 'chosen'; error: string | null } & ChosenImage)
  /** Being uploaded: `loaded` of `total` bytes (`total` null when unknown). */
  | ({ phase: 'uploading'; loaded: number; total: number | null } & ChosenImage);

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
  upload: (file: File, options: UploadRequestOptions) => Promise<UploadedImage>;
  describeFailure: (error: unknown) => UploadFailure;
  /** Makes and frees preview addresses (default: `URL.createObjectURL` / `URL.revokeObjectURL`). */
  objectUrls?: { create(file: Blob): string; revoke(url: string): void };
}

export interface Attachment {
  getState(): AttachmentState;
  subscribe(listener: () => void): () => void;
  /** Shows `file` for confirmation, replacing (and aborting) any earlier one. */
  choose(file: File): void;
  /** Drops the chosen image, aborting its upload. */
  cancel(): void;
  /** Uploads the chosen image; resolves to the stored image, or null (cancelled, failed, nothing chosen). */
  submit(): Promise<UploadedImage | null>;
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
    if (state.phase !== 'empty' && (next.phase === 'empty' || next.previewUrl !== state.previewUrl)) {
      urls.revoke(state.previewUrl);
    }
    state = next;
    for (const listener of [...listeners]) listener();
  }

  function abort() {
    controller?.abort();
    controller = null;
  }

  function chosen(image: ChosenImage): ChosenImage {
    return { file: image.file, name: image.name, size: image.size, previewUrl: image.previewUrl };
  }

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    choose(file) {
      abort();
      if (file.type && !(ACCEPTED_IMAGE_TYPES as readonly string[]).includes(file.type)) {
        set({ phase: 'empty', error: 'The image was not sent: only PNG, JPEG, GIF and WebP images can be sent.' });
        return;
      }
      const previewUrl = urls.create(file);
      set({ phase: 'chosen', error: null, file, name: file.name || 'image', size: file.size, previewUrl });
    },

    cancel() {
      abort();
      if (state.phase !== 'empty' || state.error !== null) set(EMPTY_ATTACHMENT);
    },

    async submit() {
      if (state.phase !== 'chosen') return null;
      const image = chosen(state);
      const request = new AbortController();
      controller = request;
      set({ phase: 'uploading', ...image, loaded: 0, total: image.size > 0 ? image.size : null });
      const current = () => controller === request && !request.signal.aborted;
      try {
        const uploaded = await upload(image.file, {
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
        const failure = describeFailure(error);
        set(failure.retriable ? { phase: 'chosen', error: failure.message, ...image } : { phase: 'empty', error: failure.message });
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
