import { useEffect, useState, type RefObject } from 'react';
import type { Attachment } from '../chat/attachment';

/**
 * A file dragged over the conversation around `form` (or over the form itself) is chosen for
 * `attachment` when dropped, unless a file is uploading. While a file is dragged over it, the
 * conversation is marked `drag-over`; returns whether one is.
 */
export function useFileDrop(form: RefObject<HTMLFormElement | null>, attachment: Attachment): boolean {
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    const zone: HTMLElement | null = form.current?.closest<HTMLElement>('.conversation') ?? form.current;
    if (!zone) return;
    let depth = 0;
    const carriesFiles = (event: DragEvent) => Array.from(event.dataTransfer?.types ?? []).includes('Files');
    const onEnter = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      depth++;
      setDragging(true);
    };
    const onLeave = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const onOver = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    };
    const onDrop = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth = 0;
      setDragging(false);
      const file = event.dataTransfer?.files[0];
      if (file && attachment.getState().phase !== 'uploading') attachment.choose(file);
    };
    // A file dropped next to the zone must not replace the app with the file.
    const onWindowDrop = (event: DragEvent) => {
      if (carriesFiles(event) && !event.defaultPrevented) event.preventDefault();
    };
    window.addEventListener('dragover', onWindowDrop);
    window.addEventListener('drop', onWindowDrop);
    zone.addEventListener('dragenter', onEnter);
    zone.addEventListener('dragleave', onLeave);
    zone.addEventListener('dragover', onOver);
    zone.addEventListener('drop', onDrop);
    zone.classList.add('drop-zone');
    return () => {
      window.removeEventListener('dragover', onWindowDrop);
      window.removeEventListener('drop', onWindowDrop);
      zone.removeEventListener('dragenter', onEnter);
      zone.removeEventListener('dragleave', onLeave);
      zone.removeEventListener('dragover', onOver);
      zone.removeEventListener('drop', onDrop);
      zone.classList.remove('drop-zone', 'drag-over');
    };
  }, [attachment]);

  useEffect(() => {
    form.current?.closest('.conversation')?.classList.toggle('drag-over', dragging);
  }, [dragging]);

  return dragging;
}
