import { useEffect, useId, useRef, type KeyboardEvent } from 'react';
import { formatFileSize, uploadPercent, type AttachmentState } from '../chat/attachment';
import { fileIcon } from '../chat/files';
import { FileIconBadge } from './Attachments';

const PREVIEW_TITLE = {
  image: { chosen: 'Send this image?', uploading: 'Sending image', send: 'Send image' },
  audio: { chosen: 'Send this voice message?', uploading: 'Sending voice message', send: 'Send voice message' },
  file: { chosen: 'Send this file?', uploading: 'Sending file', send: 'Send file' },
} as const;

/** The chosen file with Send and Cancel (an image shown, another file as a card); while it
 * uploads, a progress bar. */
export function UploadPreview({
  file: image,
  onSend,
  onCancel,
}: {
  file: Exclude<AttachmentState, { phase: 'empty' }>;
  onSend: () => void;
  onCancel: () => void;
}) {
  const titleId = useId();
  const sendButton = useRef<HTMLButtonElement>(null);
  const uploading = image.phase === 'uploading';
  const percent = uploading ? uploadPercent(image.loaded, image.total) : null;
  const processing = percent === 100;
  const titles = PREVIEW_TITLE[image.kind];

  // A newly chosen image (or one whose upload failed): Enter sends it, Escape drops it.
  useEffect(() => {
    if (image.phase === 'chosen') sendButton.current?.focus();
  }, [image.previewUrl, image.phase]);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === 'Escape') {
      event.preventDefault();
      onCancel();
    }
  }

  return (
    <div
      className="upload-preview"
      role="group"
      aria-labelledby={titleId}
      onKeyDown={onKeyDown}
      data-testid="upload-preview"
      data-phase={image.phase}
    >
      {image.previewUrl ? (
        <img className="upload-preview-image" src={image.previewUrl} alt="" data-testid="upload-preview-image" />
      ) : (
        <span className="upload-preview-icon" data-testid="upload-preview-file">
          <FileIconBadge icon={fileIcon(image.file.type, image.name)} />
        </span>
      )}
      <div className="upload-preview-body">
        <p className="upload-preview-title" id={titleId}>
          {uploading ? titles.uploading : titles.chosen}
        </p>
        <p className="upload-preview-file">
          <span className="upload-preview-name">{image.name}</span> · {formatFileSize(image.size)}
        </p>
        {uploading ? (
          <div className="upload-progress">
            <progress
              max={100}
              value={percent ?? undefined}
              aria-label={`Uploading ${image.name}`}
              aria-valuetext={processing ? 'Processing' : percent === null ? 'Uploading' : `${percent}%`}
              data-testid="upload-progress"
            />
            <span className="upload-progress-text" aria-hidden="true">
              {processing ? 'Processing...' : percent === null ? 'Uploading...' : `${percent}%`}
            </span>
          </div>
        ) : null}
        <div className="upload-preview-actions">
          <button
            ref={sendButton}
            type="button"
            className="button primary compact"
            onClick={onSend}
            disabled={uploading}
            data-testid="upload-send"
          >
            {image.phase === 'chosen' && image.error ? 'Try again' : titles.send}
          </button>
          <button type="button" className="button secondary compact" onClick={onCancel} data-testid="upload-cancel">
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
