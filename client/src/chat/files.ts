// Files and voice messages without React: how long a voice message is as people read it, which
// icon a file gets, what a message's attachment is (also for messages sent before attachments
// existed), and which recording format the browser offers.

import type { AttachmentKind, Message, MessageAttachment } from '../api/types';

/** "0:07", "4:59", "1:02:03": minutes and seconds (hours when needed), rounded down. */
export function formatDuration(ms: number): string {
  const total = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** "2 seconds", "1 minute 5 seconds": a duration for screen readers. */
export function spokenDuration(ms: number): string {
  const total = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  const part = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (minutes === 0) return part(seconds, 'second');
  return seconds === 0 ? part(minutes, 'minute') : `${part(minutes, 'minute')} ${part(seconds, 'second')}`;
}

export type FileIcon = 'pdf' | 'archive' | 'document' | 'spreadsheet' | 'image' | 'audio' | 'video' | 'generic';

/** The short text on each icon. */
export const FILE_ICON_LABEL: Record<FileIcon, string> = {
  pdf: 'PDF',
  archive: 'ZIP',
  document: 'DOC',
  spreadsheet: 'XLS',
  image: 'IMG',
  audio: 'AUD',
  video: 'VID',
  generic: 'FILE',
};

const EXTENSION_ICONS: Record<string, FileIcon> = {
  pdf: 'pdf',
  zip: 'archive',
  '7z': 'archive',
  rar: 'archive',
  tar: 'archive',
  gz: 'archive',
  tgz: 'archive',
  bz2: 'archive',
  xz: 'archive',
  doc: 'document',
  docx: 'document',
  odt: 'document',
  rtf: 'document',
  txt: 'document',
  md: 'document',
  pages: 'document',
  ppt: 'document',
  pptx: 'document',
  odp: 'document',
  xls: 'spreadsheet',
  xlsx: 'spreadsheet',
  ods: 'spreadsheet',
  csv: 'spreadsheet',
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  gif: 'image',
  webp: 'image',
  svg: 'image',
  mp3: 'audio',
  ogg: 'audio',
  opus: 'audio',
  m4a: 'audio',
  wav: 'audio',
  flac: 'audio',
  mp4: 'video',
  mov: 'video',
  webm: 'video',
  mkv: 'video',
};

/**
 * The icon of a file. Its name's extension decides first (the server reads the type from the
 * bytes, where an office document is a zip archive); then its type.
 */
export function fileIcon(mime: string, name = ''): FileIcon {
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  if (extension in EXTENSION_ICONS) return EXTENSION_ICONS[extension];
  const type = mime.toLowerCase().split(';')[0].trim();
  if (type === 'application/pdf') return 'pdf';
  if (/^application\/(zip|x-zip-compressed|gzip|x-gzip|x-tar|x-7z-compressed|x-rar-compressed|vnd\.rar|x-bzip2|x-xz)$/.test(type)) {
    return 'archive';
  }
  if (/spreadsheet|ms-excel|^text\/csv$/.test(type)) return 'spreadsheet';
  if (/^text\/|msword|wordprocessing|opendocument|presentation|powerpoint|rtf/.test(type)) return 'document';
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('audio/')) return 'audio';
  if (type.startsWith('video/')) return 'video';
  return 'generic';
}

/** What a chosen file probably is, for its preview before upload (the server decides for real). */
export function previewKind(mime: string): AttachmentKind {
  const type = mime.toLowerCase();
  if (/^image\/(png|jpeg|gif|webp)$/.test(type)) return 'image';
  if (type.startsWith('audio/')) return 'audio';
  return 'file';
}

/** How a failed upload is named in its message: "The voice message was not sent: ...". */
export function uploadNoun(kind: AttachmentKind): string {
  return kind === 'image' ? 'image' : kind === 'audio' ? 'voice message' : 'file';
}

/** The last part of an upload's address ("/uploads/ab12.bin" -> "ab12.bin"). */
function baseName(url: string): string {
  const path = url.split(/[?#]/)[0];
  return path.slice(path.lastIndexOf('/') + 1) || 'file';
}

/**
 * The attachment of a message that is not deleted: the one it carries, or, for an audio or file
 * message without one (sent before attachments existed), what its `file_url` tells
 * (`size` then 0: unknown). Images without one are shown from their `file_url`.
 */
export function attachmentOf(
  message: Pick<Message, 'message_type' | 'file_url'> & { attachment?: MessageAttachment | null; deleted_at?: string | null },
): MessageAttachment | null {
  if (message.deleted_at) return null;
  if (message.attachment) return message.attachment;
  const type = message.message_type;
  if ((type === 'audio' || type === 'file') && message.file_url) {
    return { url: message.file_url, kind: type, mime: '', size: 0, name: baseName(message.file_url) };
  }
  return null;
}

/** Recording formats in order of preference: each is one the server takes as a voice message. */
export const RECORDER_MIME_TYPES = ['audio/ogg;codecs=opus', 'audio/webm;codecs=opus', 'audio/mp4'] as const;

/**
 * The first of `RECORDER_MIME_TYPES` the browser records (`MediaRecorder.isTypeSupported`), or ''
 * (let the browser choose) when it supports none of them or cannot tell.
 */
export function pickRecorderMimeType(isTypeSupported: ((type: string) => boolean) | undefined): string {
  if (!isTypeSupported) return '';
  for (const type of RECORDER_MIME_TYPES) {
    try {
      if (isTypeSupported(type)) return type;
    } catch {
      // An odd implementation that throws: try the next.
    }
  }
  return '';
}

/** The file extension of a recording of type `mime` ("audio/webm;codecs=opus" -> "webm"). */
export function recordingExtension(mime: string): string {
  const type = mime.toLowerCase().split(';')[0].trim();
  switch (type) {
    case 'audio/ogg':
      return 'ogg';
    case 'audio/webm':
    case 'video/webm':
      return 'webm';
    case 'audio/mp4':
    case 'video/mp4':
    case 'audio/aac':
      return 'm4a';
    case 'audio/mpeg':
      return 'mp3';
    default:
      return 'webm';
  }
}
