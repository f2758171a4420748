import { useRef, type ChangeEvent } from 'react';

interface AttachButtonProps {
  uploading: boolean;
  disabled: boolean;
  /** A file the user picked. */
  onChoose: (file: File) => void;
}

/** The composer's attach button and the hidden file field it opens. */
export function AttachButton({ uploading, disabled, onChoose }: AttachButtonProps) {
  const fileInput = useRef<HTMLInputElement>(null);

  function choose(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (file) onChoose(file);
  }

  return (
    <>
      <input
        ref={fileInput}
        type="file"
        className="visually-hidden"
        tabIndex={-1}
        aria-hidden="true"
        onChange={choose}
        data-testid="image-input"
      />
      <button
        type="button"
        className="button secondary attach-button"
        onClick={() => fileInput.current?.click()}
        disabled={disabled}
        aria-label={uploading ? 'Uploading a file' : 'Attach a file'}
        title="Attach a file"
        data-testid="attach-button"
      >
        {uploading ? '...' : '+'}
      </button>
    </>
  );
}
