import {
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ClipboardEvent,
  type FormEvent,
  type KeyboardEvent,
} from 'react';
import { describeUploadError } from '../api/errors';
import { uploadFile } from '../api/http';
import { createAttachment } from '../chat/attachment';
import type { Message, User } from '../api/types';
import { useChat } from '../chat/ChatContext';
import { drafts } from '../chat/drafts';
import { uploadNoun } from '../chat/files';
import { createTypingEmitter } from '../chat/typing';
import { AttachButton } from './AttachButton';
import { useMentionAutocomplete } from './MentionSuggestions';
import { ReplyTarget } from './ReplyQuote';
import { UploadPreview } from './UploadPreview';
import { useFileDrop } from './useFileDrop';
import { MicButton, RecorderBar, useVoiceRecorder } from './VoiceRecorder';

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
 * the attach button (or a file dropped on the conversation, or pasted) picks a file, which is
 * shown for confirmation (images as a preview, other files as a card) and then uploaded with a
 * progress bar; the microphone button records a voice message. */
export function Composer({ conversationId, members, replyTo = null, onCancelReply }: ComposerProps) {
  const client = useChat();
  const inputId = useId();
  const hintId = useId();
  const [text, setText] = useState(() => drafts.get(conversationId));
  const textarea = useRef<HTMLTextAreaElement>(null);
  const form = useRef<HTMLFormElement>(null);
  const [attachment] = useState(() =>
    createAttachment({
      upload: (file, { onProgress, signal }) => uploadFile(file, file.name, { onProgress, signal }),
      describeFailure: (error, chosen) => describeUploadError(error, uploadNoun(chosen.kind)),
    }),
  );
  const attachmentState = useSyncExternalStore(attachment.subscribe, attachment.getState);
  const voice = useVoiceRecorder(conversationId, (file) => {
    // A finished recording goes out at once, with the same progress bar as a chosen file.
    attachment.choose(file);
    void sendChosenFile();
  });
  const recording = voice.state.phase !== 'idle';
  // The recorder's buttons go when it ends: the focus goes back to the message box.
  const wasRecording = useRef(false);
  useEffect(() => {
    if (wasRecording.current && !recording) textarea.current?.focus();
    wasRecording.current = recording;
  }, [recording]);
  const mentions = useMentionAutocomplete({
    members,
    meId: client.me.id,
    input: textarea,
    setText: (value) => change(value),
  });
  const uploading = attachmentState.phase === 'uploading';
  // Leaving the conversation drops the chosen file (and aborts its upload).
  useEffect(() => () => attachment.reset(), [attachment, conversationId]);

  const dragging = useFileDrop(form, attachment);

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

  async function sendChosenFile() {
    const uploaded = await attachment.submit();
    // Posted as what the server found the file to be (image, voice message or file).
    if (uploaded) client.sendUpload(conversationId, uploaded);
    // Sent or refused: back to the message box (a failure that may pass keeps the preview).
    if (attachment.getState().phase === 'empty') textarea.current?.focus();
  }

  function cancelFile() {
    attachment.cancel();
    textarea.current?.focus();
  }

  /** Files pasted into the box (a screenshot, a copied file) are attached; text pastes as usual. */
  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    const file = event.clipboardData?.files?.[0];
    if (!file || uploading) return;
    event.preventDefault();
    attachment.choose(file);
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
    <form ref={form} className="composer" onSubmit={onSubmit} data-testid="composer" aria-busy={uploading}>
      {dragging ? (
        <p className="drop-hint" aria-hidden="true" data-testid="drop-hint">
          Drop the file to attach it
        </p>
      ) : null}
      {voice.state.phase === 'idle' && voice.state.error ? (
        <p className="form-error composer-error" role="alert" data-testid="recorder-error">
          {voice.state.error}
        </p>
      ) : null}
      {attachmentState.phase !== 'uploading' && attachmentState.error ? (
        <p className="form-error composer-error" role="alert" data-testid="upload-error">
          {attachmentState.error}
        </p>
      ) : null}
      {replyTo ? <ReplyTarget message={replyTo} onCancel={() => onCancelReply?.()} /> : null}
      {mentions.list}
      {attachmentState.phase !== 'empty' ? (
        <UploadPreview file={attachmentState} onSend={() => void sendChosenFile()} onCancel={cancelFile} />
      ) : null}
      <AttachButton uploading={uploading} disabled={uploading || recording} onChoose={(file) => attachment.choose(file)} />
      {recording ? <RecorderBar recorder={voice} /> : null}
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
        onPaste={onPaste}
        aria-describedby={hintId}
        hidden={recording}
        data-testid="message-input"
      />
      <span id={hintId} className="visually-hidden">
        Press Enter to send, Shift+Enter for a new line. Type @ to mention a member.
      </span>
      {voice.supported && !recording ? (
        <MicButton recorder={voice} disabled={attachmentState.phase !== 'empty'} />
      ) : null}
      {recording ? null : (
        <button type="submit" className="button primary send-button" disabled={!text.trim()} data-testid="send-button">
          Send
        </button>
      )}
    </form>
  );
}
