/**
 * Secret values as `***` in a build's log and live stream. Applied to whole lines (BuildLog
 * writes complete lines; a line over 64 KiB is written in pieces, and a secret cut by such a
 * piece boundary is not recognised). A secret of several lines is masked line by line.
 */
export const MIN_SECRET_LENGTH = 4;

/** Masks every secret value in `text` (longest first, so one containing another is masked whole). */
export function maskSecrets(text: string, values: readonly string[]): string {
  let masked = text;
  for (const value of [...values].sort((a, b) => b.length - a.length)) {
    for (const part of value.split('\n').filter((p) => p.length >= MIN_SECRET_LENGTH))
      masked = masked.split(part).join('***');
  }
  return masked;
}
