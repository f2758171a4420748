import {
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type ChangeEvent,
  type FormEvent,
  type KeyboardEvent,
} from 'react';
import { describeError } from '../api/errors';
import { uploadImage } from '../api/http';
import { useChat } from '../chat/ChatContext';
import { createTypingEmitter } from '../chat/typing';

/** Unsent text per conversation, kept while the user looks at other conversations. */
const drafts = new Map<number, string>();

/** Forgets all unsent text (on sign-out). */
export function clearDrafts(): void {
  drafts.clear();
}

const MAX_HEIGHT_PX = 160;

/** Types the server accepts for images. */
const IMAGE_TYPES = 'image/png,image/jpeg,image/gif,image/webp';

/** The message box: Enter sends, Shift+Enter starts a new line; the attach button sends an image. */
export function Composer({ conversationId }: { conversationId: number }) {
  const client = useChat();
  const inputId = useId();
  const hintId = useId();
  const [text, setText] = useState(() => drafts.get(conversationId) ?? '');
  const textarea = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const [uploading, setUploading] = useState(false);
  const [uploadError, setUploadError] = useState<string | null>(null);

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

  useLayoutEffect(() => {
    const element = textarea.current;
    if (!element) return;
    element.style.height = 'auto';
    element.style.height = `${Math.min(element.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  function change(value: string) {
    setText(value);
    drafts.set(conversationId, value);
    if (value.trim()) typing.input();
    else typing.stop();
  }

  function send() {
    if (!client.send(conversationId, text)) return;
    typing.stop();
    setText('');
    drafts.delete(conversationId);
    textarea.current?.focus();
  }

  async function attach(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setUploading(true);
    setUploadError(null);
    try {
      const uploaded = await uploadImage(file);
      client.sendImage(conversationId, uploaded.file_url);
    } catch (err) {
      setUploadError(`The image was not sent: ${describeError(err).message}`);
    } finally {
      setUploading(false);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    send();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  return (
    <form className="composer" onSubmit={onSubmit} data-testid="composer" aria-busy={uploading}>
      {uploadError ? (
        <p className="form-error composer-error" role="alert" data-testid="upload-error">
          {uploadError}
        </p>
      ) : null}
      <input
        ref={fileInput}
        type="file"
        accept={IMAGE_TYPES}
        className="visually-hidden"
        tabIndex={-1}
        aria-hidden="true"
        onChange={(event) => void attach(event)}
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
        onChange={(event) => change(event.target.value)}
        onKeyDown={onKeyDown}
        onBlur={() => typing.stop()}
        aria-describedby={hintId}
        data-testid="message-input"
      />
      <span id={hintId} className="visually-hidden">
        Press Enter to send, Shift+Enter for a new line.
      </span>
      <button type="submit" className="button primary send-button" disabled={!text.trim()} data-testid="send-button">
        Send
      </button>
    </form>
  );
}
