import { describe, expect, it } from 'vitest';
import {
  attachmentOf,
  fileIcon,
  formatDuration,
  pickRecorderMimeType,
  previewKind,
  recordingExtension,
  spokenDuration,
  uploadNoun,
} from './files';

describe('durations', () => {
  it('read as minutes and seconds, rounded down, hours only when needed', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(999)).toBe('0:00');
    expect(formatDuration(2_400)).toBe('0:02');
    expect(formatDuration(59_999)).toBe('0:59');
    expect(formatDuration(60_000)).toBe('1:00');
    expect(formatDuration(299_500)).toBe('4:59');
    expect(formatDuration(300_000)).toBe('5:00');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });

  it('treats what is not a length as nothing (a WebM recording reports Infinity)', () => {
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('0:00');
    expect(formatDuration(Number.NaN)).toBe('0:00');
    expect(formatDuration(-5)).toBe('0:00');
  });

  it('are spoken in words for screen readers', () => {
    expect(spokenDuration(1_000)).toBe('1 second');
    expect(spokenDuration(2_900)).toBe('2 seconds');
    expect(spokenDuration(60_000)).toBe('1 minute');
    expect(spokenDuration(125_000)).toBe('2 minutes 5 seconds');
  });
});

describe('file icons', () => {
  it('follow the name first: an office document is a zip archive to the server', () => {
    expect(fileIcon('application/zip', 'letter.docx')).toBe('document');
    expect(fileIcon('application/zip', 'budget.xlsx')).toBe('spreadsheet');
    expect(fileIcon('application/octet-stream', 'REPORT.PDF')).toBe('pdf');
    expect(fileIcon('application/octet-stream', 'backup.tar.gz')).toBe('archive');
  });

  it('then the type', () => {
    expect(fileIcon('application/pdf', 'scan')).toBe('pdf');
    expect(fileIcon('application/zip', 'bundle')).toBe('archive');
    expect(fileIcon('application/x-7z-compressed')).toBe('archive');
    expect(fileIcon('application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBe('document');
    expect(fileIcon('text/plain; charset=utf-8', 'README')).toBe('document');
    expect(fileIcon('text/csv')).toBe('spreadsheet');
    expect(fileIcon('image/svg+xml', 'logo')).toBe('image');
    expect(fileIcon('audio/flac', 'song')).toBe('audio');
    expect(fileIcon('video/mp4', 'clip')).toBe('video');
  });

  it('fall back to a generic file', () => {
    expect(fileIcon('application/octet-stream', 'setup.exe')).toBe('generic');
    expect(fileIcon('', '')).toBe('generic');
    expect(fileIcon('', '.bashrc')).toBe('generic');
  });
});

describe('what a chosen file looks like before upload', () => {
  it('previews only the images the page can show safely', () => {
    expect(previewKind('image/png')).toBe('image');
    expect(previewKind('image/webp')).toBe('image');
    expect(previewKind('image/svg+xml')).toBe('file');
    expect(previewKind('audio/ogg')).toBe('audio');
    expect(previewKind('application/pdf')).toBe('file');
    expect(previewKind('')).toBe('file');
    expect([uploadNoun('image'), uploadNoun('audio'), uploadNoun('file')]).toEqual(['image', 'voice message', 'file']);
  });
});

describe('the attachment of a message', () => {
  const pdf = { url: '/uploads/ab.bin', kind: 'file' as const, mime: 'application/pdf', size: 10, name: 'a.pdf' };

  it('is the one it carries', () => {
    expect(attachmentOf({ message_type: 'file', file_url: pdf.url, attachment: pdf })).toBe(pdf);
  });

  it('is read from file_url for audio and file messages without one', () => {
    expect(attachmentOf({ message_type: 'audio', file_url: '/uploads/cd.ogg', attachment: null })).toEqual({
      url: '/uploads/cd.ogg',
      kind: 'audio',
      mime: '',
      size: 0,
      name: 'cd.ogg',
    });
  });

  it('is none on text, images without one and deleted messages', () => {
    expect(attachmentOf({ message_type: 'text', file_url: null })).toBeNull();
    expect(attachmentOf({ message_type: 'image', file_url: '/uploads/x.png', attachment: null })).toBeNull();
    expect(attachmentOf({ message_type: 'file', file_url: null, attachment: pdf, deleted_at: '2030-01-01T00:00:00Z' })).toBeNull();
    expect(attachmentOf({ message_type: 'file', file_url: null, attachment: null })).toBeNull();
  });
});

describe('the recording format', () => {
  it('is the first the browser records, Ogg before WebM before MP4', () => {
    expect(pickRecorderMimeType(() => true)).toBe('audio/ogg;codecs=opus');
    expect(pickRecorderMimeType((t) => t.startsWith('audio/webm'))).toBe('audio/webm;codecs=opus');
    expect(pickRecorderMimeType((t) => t === 'audio/mp4')).toBe('audio/mp4');
  });

  it("is the browser's own choice when it records none of them or cannot tell", () => {
    expect(pickRecorderMimeType(() => false)).toBe('');
    expect(pickRecorderMimeType(undefined)).toBe('');
    const throwing = (type: string) => {
      if (type.startsWith('audio/ogg')) throw new Error('odd');
      return true;
    };
    expect(pickRecorderMimeType(throwing)).toBe('audio/webm;codecs=opus');
  });

  it('names the file by its container', () => {
    expect(recordingExtension('audio/ogg;codecs=opus')).toBe('ogg');
    expect(recordingExtension('audio/webm;codecs=opus')).toBe('webm');
    expect(recordingExtension('audio/mp4')).toBe('m4a');
    expect(recordingExtension('audio/mpeg')).toBe('mp3');
    expect(recordingExtension('')).toBe('webm');
  });
});
