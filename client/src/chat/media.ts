// Addresses of uploaded images. The server stores an image as `/uploads/<hash>.<ext>` and its
// thumbnail (at most 320 pixels on its longest side) as `/uploads/<hash>_thumb.<ext>`; a message
// carries only the first.

const UPLOAD = /^(\/uploads\/[0-9a-f]{64})\.([a-z0-9]+)$/;

/** The thumbnail of an uploaded image, or the address itself when it is not an upload. */
export function thumbnailUrl(fileUrl: string): string {
  const match = UPLOAD.exec(fileUrl);
  return match ? `${match[1]}_thumb.${match[2]}` : fileUrl;
}

/** A server path (`/uploads/...`) on the chat server's origin (`serverUrl`; empty: the page's). */
export function serverAddress(path: string, serverUrl: string): string {
  return path.startsWith('/') && !path.startsWith('//') ? `${serverUrl}${path}` : path;
}
