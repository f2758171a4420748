import {
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ChangeEvent,
  type FormEvent,
  type KeyboardEvent,
} from 'react';
import { describeUploadError } from '../api/errors';
import { uploadImage } from '../api/http';
import {
  ACCEPTED_IMAGE_TYPES,
  createAttachment,
  formatFileSize,
  uploadPercent,
  type AttachmentState,
} from '../chat/attachment';
import type { Message, User } from '../api/types';
import { useChat } from '../chat/ChatContext';
import { drafts } from '../chat/drafts';
import { quoteOf } from '../chat/sending';
import { createTypingEmitter } from '../chat/typing';
import { quoteText } from './MessageActions';
import { useMentionAutocomplete } from './MentionSuggestions';
import { displayName } from '../chat/names';

const MAX_HEIGHT_PX = 160;

interface ComposerProps {
  conversationId: number;
  /** The conversation's members, offered when the user types `@`. */
  members: readonly User[];
  /** The message being replied to, quoted above the box; Escape or the close button drops it. */
  replyTo?: Message | null;
  onCancelReply?: () => void;
}

/** The message box: Enter sends, Shift+Enter starts a new line, `@` offers the members to mention;
 * the attach button picks an image, which is shown for confirmation and then uploaded with a
 * progress bar. */
export function Composer({ conversationId, members, replyTo = null, onCancelReply }: ComposerProps) {
  const client = useChat();
  const inputId = useId();
  const hintId = useId();
  const [text, setText] = useState(() => drafts.get(conversationId));
  const textarea = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const [attachment] = useState(() =>
    createAttachment({
      upload: (file, { onProgress, signal }) => uploadImage(file, file.name, { onProgress, signal }),
      describeFailure: describeUploadError,
    }),
  );
  const image = useSyncExternalStore(attachment.subscribe, attachment.getState);
  const mentions = useMentionAutocomplete({
    members,
    meId: client.me.id,
    input: textarea,
    setText: (value) => change(value),
  });
  const uploading = image.phase === 'uploading';
  // Leaving the conversation drops the chosen image (and aborts its upload).
  useEffect(() => () => attachment.reset(), [attachment]);

  const typing = useMemo(
    () =>
      createTypingEmitter({
        start: () => client.startTyping(conversationId),
        stop: () => client.stopTyping(conversationId),
      }),
    [client, conversationId],
  );
  useEffect(() => () => typing.dispose(), [typing]);

  useEffect(() => {
    // Focus the box when a conversation opens, except on small touch screens where that would
    // cover the conversation with the keyboard.
    if (window.matchMedia?.('(min-width: 720px)').matches) textarea.current?.focus();
  }, [conversationId]);

  // Choosing Reply takes the user to the box.
  useEffect(() => {
    if (replyTo) textarea.current?.focus();
  }, [replyTo]);

  useLayoutEffect(() => {
    const element = textarea.current;
    if (!element) return;
    element.style.height = 'auto';
    element.style.height = `${Math.min(element.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  function change(value: string) {
    setText(value);
    drafts.save(conversationId, value);
    if (value.trim()) typing.input();
    else typing.stop();
  }

  function send() {
    if (!client.send(conversationId, text, replyTo ?? undefined)) return;
    onCancelReply?.();
    typing.stop();
    setText('');
    drafts.discard(conversationId);
    textarea.current?.focus();
  }

  function choose(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (file) attachment.choose(file);
  }

  async function sendChosenImage() {
    const uploaded = await attachment.submit();
    if (uploaded) client.sendImage(conversationId, uploaded.file_url);
    // Sent or refused: back to the message box (a failure that may pass keeps the preview).
    if (attachment.getState().phase === 'empty') textarea.current?.focus();
  }

  function cancelImage() {
    attachment.cancel();
    textarea.current?.focus();
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    send();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (mentions.onKeyDown(event)) return;
    if (event.key === 'Escape' && replyTo) {
      event.preventDefault();
      onCancelReply?.();
      return;
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  return (
    <form className="composer" onSubmit={onSubmit} data-testid="composer" aria-busy={uploading}>
      {image.phase !== 'uploading' && image.error ? (
        <p className="form-error composer-error" role="alert" data-testid="upload-error">
          {image.error}
        </p>
      ) : null}
      {replyTo ? <ReplyTarget message={replyTo} onCancel={() => onCancelReply?.()} /> : null}
      {mentions.list}
      {image.phase !== 'empty' ? (
        <ImagePreview image={image} onSend={() => void sendChosenImage()} onCancel={cancelImage} />
      ) : null}
      <input
        ref={fileInput}
        type="file"
        accept={ACCEPTED_IMAGE_TYPES.join(',')}
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
        disabled={uploading}
        aria-label={uploading ? 'Uploading image' : 'Send an image'}
        data-testid="attach-button"
      >
        {uploading ? '...' : '+'}
      </button>
      <label htmlFor={inputId} className="visually-hidden">
        Message
      </label>
      <textarea
        id={inputId}
        ref={textarea}
        rows={1}
        value={text}
        placeholder="Write a message"
        onChange={(event) => {
          change(event.target.value);
          mentions.track(event.target.value, event.target.selectionStart);
        }}
        onSelect={(event) => mentions.track(event.currentTarget.value, event.currentTarget.selectionStart)}
        onKeyDown={onKeyDown}
        {...mentions.comboboxProps}
        onBlur={() => typing.stop()}
        aria-describedby={hintId}
        data-testid="message-input"
      />
      <span id={hintId} className="visually-hidden">
        Press Enter to send, Shift+Enter for a new line. Type @ to mention a member.
      </span>
      <button type="submit" className="button primary send-button" disabled={!text.trim()} data-testid="send-button">
        Send
      </button>
    </form>
  );
}

/** The message being replied to, above the box, with a button that drops it. */
function ReplyTarget({ message, onCancel }: { message: Message; onCancel: () => void }) {
  const quote = quoteOf(message);
  return (
    <div className="reply-target" role="group" aria-label={`Replying to ${displayName(quote)}`} data-testid="reply-target">
      <span className="reply-target-body">
        <span className="reply-quote-sender">Replying to {displayName(quote)}</span>
        <span className="reply-quote-text">{quoteText(quote)}</span>
      </span>
      <button type="button" className="reply-target-cancel" onClick={onCancel} aria-label="Cancel the reply" data-testid="reply-cancel">
        ×
      </button>
    </div>
  );
}

/** The chosen image with Send and Cancel; while it uploads, a progress bar. */
function ImagePreview({
  image,
  onSend,
  onCancel,
}: {
  image: Exclude<AttachmentState, { phase: 'empty' }>;
  onSend: () => void;
  onCancel: () => void;
}) {
  const titleId = useId();
  const sendButton = useRef<HTMLButtonElement>(null);
  const uploading = image.phase === 'uploading';
  const percent = uploading ? uploadPercent(image.loaded, image.total) : null;
  const processing = percent === 100;

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
      <img className="upload-preview-image" src={image.previewUrl} alt="" data-testid="upload-preview-image" />
      <div className="upload-preview-body">
        <p className="upload-preview-title" id={titleId}>
          {uploading ? 'Sending image' : 'Send this image?'}
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
            {image.phase === 'chosen' && image.error ? 'Try again' : 'Send image'}
          </button>
          <button type="button" className="button secondary compact" onClick={onCancel} data-testid="upload-cancel">
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
