// Line icons of the call controls (decorative: the buttons carry the names).

import type { ReactNode } from 'react';

function Icon({ children, size = 22 }: { children: ReactNode; size?: number }) {
  return (
    <svg
      className="call-icon"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={2}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {children}
    </svg>
  );
}

export const PhoneIcon = ({ size }: { size?: number }) => (
  <Icon size={size}>
    <path d="M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2" />
  </Icon>
);

export const VideoIcon = ({ size }: { size?: number }) => (
  <Icon size={size}>
    <rect x="2" y="6" width="14" height="12" rx="2" />
    <path d="m16 10 6-3v10l-6-3" />
  </Icon>
);

export const VideoOffIcon = ({ size }: { size?: number }) => (
  <Icon size={size}>
    <path d="M10.7 6H14a2 2 0 0 1 2 2v3.3l1 1L22 7v10M16 16a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h2" />
    <path d="m2 2 20 20" />
  </Icon>
);

export const MicIcon = ({ size }: { size?: number }) => (
  <Icon size={size}>
    <rect x="9" y="2" width="6" height="12" rx="3" />
    <path d="M5 10a7 7 0 0 0 14 0M12 17v5M8 22h8" />
  </Icon>
);

export const MicOffIcon = ({ size }: { size?: number }) => (
  <Icon size={size}>
    <path d="M15 9.3V5a3 3 0 0 0-5.7-1.3M9 9v2a3 3 0 0 0 5 2.2M5 10a7 7 0 0 0 11.5 5.4M19 10a7 7 0 0 1-.4 2.3M12 17v5M8 22h8" />
    <path d="m2 2 20 20" />
  </Icon>
);

export const HangUpIcon = ({ size }: { size?: number }) => (
  <Icon size={size}>
    <path d="M3 15.5v-2.2C3 11 7 9 12 9s9 2 9 4.3v2.2a1.5 1.5 0 0 1-1.8 1.5l-3-.6a1.5 1.5 0 0 1-1.2-1.5V13a10 10 0 0 0-6 0v1.9a1.5 1.5 0 0 1-1.2 1.5l-3 .6A1.5 1.5 0 0 1 3 15.5" />
  </Icon>
);

/** A call message's icon: the kind of call, crossed arrow when missed. */
export const MissedIcon = ({ size }: { size?: number }) => (
  <Icon size={size}>
    <path d="m3 7 7 7 5-5M15 9h-4M15 9v4" />
  </Icon>
);
