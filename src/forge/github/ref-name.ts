/**
 * Git's own rules for a ref name (git check-ref-format), so a push can only name a ref that git
 * itself would accept. What passes may still hold `$`, quotes or unicode: those reach builds only
 * as environment values and, sanitised, in file and image names.
 */
export function refNameProblem(name: string): string | null {
  if (name.length === 0) return 'empty ref name';
  if (name.length > 255) return 'ref name longer than 255 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return 'ref name has a space, control or forbidden character';
  // A lone surrogate would be stored as U+FFFD by PostgreSQL, turning the ref into another one.
  if (/\p{Cs}/u.test(name)) return 'ref name is not valid Unicode';
  if (name.includes('..')) return 'ref name contains ".."';
  if (name.includes('@{')) return 'ref name contains "@{"';
  if (name === '@') return 'ref name is "@"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//'))
    return 'ref name has an empty path part';
  if (name.endsWith('.') || name.endsWith('.lock')) return 'ref name ends with "." or ".lock"';
  if (name.split('/').some((part) => part.startsWith('.'))) return 'a ref name part starts with "."';
  return null;
}
