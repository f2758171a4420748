import { useEffect, useRef, useState, type ChangeEvent } from 'react';
import type { MessageAttachment } from '../api/types';
import { formatFileSize } from '../chat/attachment';
import { FILE_ICON_LABEL, fileIcon, formatDuration, spokenDuration, type FileIcon } from '../chat/files';

/** A document-shaped badge with the file's type on it ("PDF", "ZIP", ...). */
export function FileIconBadge({ icon }: { icon: FileIcon }) {
  return (
    <span className={`file-icon file-icon-${icon}`} aria-hidden="true" data-icon={icon}>
      {FILE_ICON_LABEL[icon]}
    </span>
  );
}

/** A file in a message: its type, name and size, and the link that downloads it. */
export function FileCard({ attachment, href }: { attachment: MessageAttachment; href: string }) {
  const size = attachment.size > 0 ? formatFileSize(attachment.size) : null;
  return (
    <a
      className="file-card"
      href={href}
      download={attachment.name}
      aria-label={size ? `Download ${attachment.name} (${size})` : `Download ${attachment.name}`}
      data-testid="file-card"
    >
      <FileIconBadge icon={fileIcon(attachment.mime, attachment.name)} />
      <span className="file-card-body">
        <span className="file-card-name" data-testid="file-name" title={attachment.name}>
          {attachment.name}
        </span>
        {size ? (
          <span className="file-card-size" data-testid="file-size">
            {size}
          </span>
        ) : null}
      </span>
      <svg className="file-card-download" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
        <path d="M12 4v11m0 0-4.5-4.5M12 15l4.5-4.5M5 19h14" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
      </svg>
    </a>
  );
}

function PlayIcon({ playing }: { playing: boolean }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      {playing ? (
        <path d="M7 5h3.5v14H7zM13.5 5H17v14h-3.5z" fill="currentColor" />
      ) : (
        <path d="M8 5.5v13a.5.5 0 0 0 .77.42l10-6.5a.5.5 0 0 0 0-.84l-10-6.5A.5.5 0 0 0 8 5.5z" fill="currentColor" />
      )}
    </svg>
  );
}

/**
 * A voice message: play/pause, a position slider (arrow keys seek) and the time. The length
 * comes from the server (`duration_ms`): a browser's own WebM recordings state none, so the
 * `<audio>` element reports an infinite duration until it has played them through.
 */
export function VoicePlayer({ attachment, src }: { attachment: MessageAttachment; src: string }) {
  const audio = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [positionMs, setPositionMs] = useState(0);
  const [mediaMs, setMediaMs] = useState<number | null>(null);
  const [failed, setFailed] = useState(false);
  const stated = attachment.duration_ms && attachment.duration_ms > 0 ? attachment.duration_ms : null;
  const totalMs = stated ?? mediaMs ?? 0;
  const shownMs = totalMs > 0 ? Math.min(positionMs, totalMs) : positionMs;
  const started = playing || positionMs > 0;

  useEffect(() => {
    const element = audio.current;
    return () => element?.pause();
  }, []);

  function readDuration(element: HTMLAudioElement) {
    if (Number.isFinite(element.duration) && element.duration > 0) setMediaMs(element.duration * 1000);
  }

  function toggle() {
    const element = audio.current;
    if (!element) return;
    if (!element.paused) {
      element.pause();
      return;
    }
    // One voice message at a time.
    for (const other of document.querySelectorAll<HTMLAudioElement>('audio[data-voice]')) {
      if (other !== element) other.pause();
    }
    setFailed(false);
    element.play().catch((error: unknown) => {
      // A pause before playback began rejects too; only a real failure is shown.
      if (error instanceof DOMException && error.name === 'AbortError') return;
      setFailed(true);
    });
  }

  function seek(event: ChangeEvent<HTMLInputElement>) {
    const element = audio.current;
    const ms = Number(event.target.value);
    if (!element || !Number.isFinite(ms)) return;
    element.currentTime = ms / 1000;
    setPositionMs(ms);
  }

  const label = `Voice message, ${spokenDuration(totalMs)}`;
  return (
    <div className={`voice-player${playing ? ' playing' : ''}`} role="group" aria-label={label} data-testid="voice-player">
      <button
        type="button"
        className="voice-play"
        onClick={toggle}
        aria-label={playing ? 'Pause the voice message' : 'Play the voice message'}
        data-testid="voice-play"
        data-playing={playing}
      >
        <PlayIcon playing={playing} />
      </button>
      <div className="voice-body">
        <input
          type="range"
          className="voice-progress"
          min={0}
          max={Math.max(totalMs, 1)}
          step={100}
          value={shownMs}
          onChange={seek}
          style={{ ['--voice-progress' as string]: `${totalMs > 0 ? (shownMs / totalMs) * 100 : 0}%` }}
          aria-label="Position in the voice message"
          aria-valuetext={`${spokenDuration(shownMs)} of ${spokenDuration(totalMs)}`}
          data-testid="voice-progress"
        />
        <span className="voice-time">
          {started ? (
            <>
              <span data-testid="voice-elapsed">{formatDuration(shownMs)}</span>
              <span aria-hidden="true"> / </span>
            </>
          ) : null}
          <span data-testid="voice-duration">{formatDuration(totalMs)}</span>
          {failed ? (
            <span className="voice-error" role="alert">
              {' '}
              Could not play it.
            </span>
          ) : null}
        </span>
      </div>
      <audio
        ref={audio}
        src={src}
        preload="metadata"
        data-voice=""
        data-testid="voice-audio"
        onPlay={() => setPlaying(true)}
        onPause={() => setPlaying(false)}
        onEnded={(event) => {
          // Shown back at the start; playing again starts there (the element stays ended until then).
          setPlaying(false);
          readDuration(event.currentTarget);
          setPositionMs(0);
        }}
        onTimeUpdate={(event) => {
          const element = event.currentTarget;
          // Back at 0 after the end: keep the slider at the start.
          if (!element.ended) setPositionMs(element.currentTime * 1000);
        }}
        onLoadedMetadata={(event) => readDuration(event.currentTarget)}
        onDurationChange={(event) => readDuration(event.currentTarget)}
        onError={() => setFailed(true)}
      />
    </div>
  );
}
