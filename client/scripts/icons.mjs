// Draws the app's icons (a chat bubble in the app's blue) and renders them to the PNG files the web
// app manifest, index.html and the notifications use, in public/icons/. Run again after changing a
// drawing: node scripts/icons.mjs
//
// Renders with Chromium (CHROMIUM_PATH, default /usr/bin/chromium) through playwright-core, taken
// from the end-to-end tests' packages (cd e2e && npm ci).

import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLIENT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = path.join(CLIENT_DIR, 'public', 'icons');
const ACCENT = '#2455d6'; // --accent in src/styles.css

// The bubble on a 512 x 512 canvas, centred: a rounded body with a tail at the lower left.
const BUBBLE =
  'M168 126H344A48 48 0 0 1 392 174V278A48 48 0 0 1 344 326H236L160 386V326H168A48 48 0 0 1 120 278V174A48 48 0 0 1 168 126Z';
const DOTS = [192, 256, 320].map((x) => `M${x - 24} 226a24 24 0 1 0 48 0a24 24 0 1 0 -48 0Z`).join('');

const svg = (body) => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512">${body}</svg>`;

const ICONS = {
  // Any shape: a rounded square, transparent corners.
  any: svg(`<rect width="512" height="512" rx="112" fill="${ACCENT}"/><path d="${BUBBLE}" fill="#fff"/><path d="${DOTS}" fill="${ACCENT}"/>`),
  // Maskable: fills the square; the bubble lies within the middle circle (radius 40 %) every mask keeps.
  maskable: svg(`<rect width="512" height="512" fill="${ACCENT}"/><path d="${BUBBLE}" fill="#fff"/><path d="${DOTS}" fill="${ACCENT}"/>`),
  // Apple touch icon: opaque (iOS rounds the corners itself).
  apple: svg(
    `<rect width="512" height="512" fill="${ACCENT}"/><g transform="translate(256 256) scale(0.9) translate(-256 -256)"><path d="${BUBBLE}" fill="#fff"/><path d="${DOTS}" fill="${ACCENT}"/></g>`,
  ),
  // Notification badge: only its shape is shown (in the system's colour), the dots cut out.
  badge: svg(`<path d="${BUBBLE}${DOTS}" fill="#fff" fill-rule="evenodd"/>`),
};

const OUTPUTS = [
  { file: 'icon-192.png', icon: 'any', size: 192 },
  { file: 'icon-512.png', icon: 'any', size: 512 },
  { file: 'icon-maskable-512.png', icon: 'maskable', size: 512 },
  { file: 'apple-touch-icon.png', icon: 'apple', size: 180 },
  { file: 'badge-96.png', icon: 'badge', size: 96 },
];

const require = createRequire(path.join(CLIENT_DIR, '..', 'e2e', 'package.json'));
const { chromium } = require('playwright-core');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  mkdirSync(OUT_DIR, { recursive: true });
  const page = await browser.newPage();
  for (const { file, icon, size } of OUTPUTS) {
    await page.setViewportSize({ width: size, height: size });
    const drawing = ICONS[icon].replace('width="512" height="512"', `width="${size}" height="${size}"`);
    await page.setContent(`<!doctype html><body style="margin:0;background:transparent">${drawing}</body>`);
    const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    writeFileSync(path.join(OUT_DIR, file), png);
    console.log(`${file} (${size} x ${size})`);
  }
} finally {
  await browser.close();
}
