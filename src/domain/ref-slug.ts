/**
 * A ref as a name part (`{branch}` in file names, links and image tags), injective over
 * (ref type, ref name): two different refs never get the same slug, so no push can take the name
 * of another ref's kernel, link or committed image.
 *
 * The slug uses only [A-Za-z0-9_.-] (a valid Docker tag, at most MAX_SLUG_LENGTH characters, never
 * starting with `.` or `-`), and reads as the name itself in the common case:
 * - a branch: characters of [A-Za-z0-9.-] stay; `_` becomes `__`; every other character becomes
 *   `_` + two lowercase hex digits per byte of its UTF-8 form (`feature/x` → `feature_2fx`,
 *   `é` → `_c3_a9`); a leading `-` or `.`, and the `-` of a leading `tag-`, are escaped the same way;
 * - a tag: `tag-` + the branch encoding of its name (`v1.0` → `tag-v1.0`), so tags and branches
 *   never meet: no branch slug starts with `tag-`;
 * - a pull request: its name `pr-<number>` as it is (`pr-12`); a branch's leading `pr-` has its `-`
 *   escaped (`pr-12` the branch → `pr_2d12`), so no branch slug starts with `pr-` and a PR's
 *   kernel can never take a branch's name;
 * - a slug longer than MAX_SLUG_LENGTH keeps its first characters (cut between escapes) and ends
 *   with `_h` + 24 hex digits of the SHA-256 of the whole ref. In a slug that was not cut every
 *   `_` starts `__` or `_` + hex, never `_h`, so a cut slug cannot equal one that was not.
 * `decodeRefSlug` reverses every slug that was not cut (test/unit/ref-slug.test.ts checks both
 * ways over generated refs). Lone UTF-16 surrogates are encoded as their 3-byte WTF-8 form, so the
 * encoding is injective over every JavaScript string, not just well-formed ones.
 */
import { createHash } from 'node:crypto';
import type { RefType } from './build.js';

/** Leaves room in a 128-character Docker tag and a 255-byte file name for the rest of a template. */
export const MAX_SLUG_LENGTH = 100;
const TAG_PREFIX = 'tag-';
const PULL_PREFIX = 'pr-';
const PULL_NAME = /^pr-[1-9][0-9]{0,9}$/;
const HASH_MARK = '_h';
const HASH_LENGTH = 24;
const SAFE = /^[A-Za-z0-9.-]$/;
const EMPTY_BRANCH = '_';

/** UTF-8 of one code point; a lone surrogate gets the same 3-byte form as other BMP code points. */
function utf8(codePoint: number): number[] {
  if (codePoint < 0x80) return [codePoint];
  if (codePoint < 0x800) return [0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f)];
  if (codePoint < 0x10000)
    return [0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f)];
  return [
    0xf0 | (codePoint >> 18),
    0x80 | ((codePoint >> 12) & 0x3f),
    0x80 | ((codePoint >> 6) & 0x3f),
    0x80 | (codePoint & 0x3f),
  ];
}

const escape = (char: string) =>
  utf8(char.codePointAt(0)!)
    .map((byte) => `_${byte.toString(16).padStart(2, '0')}`)
    .join('');

/** The name's escape tokens, one per character: `a`, `__`, `_2f`, `_c3_a9`. */
function tokens(name: string): string[] {
  return [...name].map((char, index) => {
    if (char === '_') return '__';
    if (!SAFE.test(char)) return escape(char);
    if (index === 0 && (char === '-' || char === '.')) return escape(char);
    if (index === 3 && char === '-' && name.startsWith(TAG_PREFIX)) return escape(char);
    if (index === 2 && char === '-' && name.startsWith(PULL_PREFIX)) return escape(char);
    return char;
  });
}

export function refSlug(refType: RefType, name: string): string {
  // Git refuses an empty ref name; should one come anyway it still gets a name of its own
  // (a lone `_` ends no escape, so no other ref has it).
  if (refType === 'branch' && name === '') return EMPTY_BRANCH;
  // A pull build is named `pr-<number>` by the service itself (domain/pull-request.ts).
  if (refType === 'pull') {
    if (!PULL_NAME.test(name)) throw new Error(`not a pull request ref name: ${name.slice(0, 40)}`);
    return name;
  }
  const parts = tokens(name);
  if (refType === 'tag') parts.unshift(TAG_PREFIX);
  const whole = parts.join('');
  if (whole.length <= MAX_SLUG_LENGTH) return whole;
  const hash = createHash('sha256').update(`${refType}\0`).update(name, 'utf16le').digest('hex');
  let kept = '';
  for (const part of parts) {
    if (kept.length + part.length > MAX_SLUG_LENGTH - HASH_MARK.length - HASH_LENGTH) break;
    kept += part;
  }
  return `${kept}${HASH_MARK}${hash.slice(0, HASH_LENGTH)}`;
}

/** Whether a slug, cut or not, names a tag, a pull request or a branch (no branch slug starts with `tag-` or `pr-`). */
export function slugRefType(slug: string): RefType {
  if (slug.startsWith(TAG_PREFIX)) return 'tag';
  return slug.startsWith(PULL_PREFIX) ? 'pull' : 'branch';
}

/** The ref a slug was made from; null for a slug that was cut (hashed) or is no slug at all. */
export function decodeRefSlug(slug: string): { refType: RefType; name: string } | null {
  if (slug === EMPTY_BRANCH) return { refType: 'branch', name: '' };
  const refType = slugRefType(slug);
  if (refType === 'pull') return PULL_NAME.test(slug) ? { refType, name: slug } : null;
  const body = refType === 'tag' ? slug.slice(TAG_PREFIX.length) : slug;
  const bytes: number[] = [];
  for (let i = 0; i < body.length;) {
    if (body[i] !== '_') {
      if (!SAFE.test(body[i]!)) return null;
      bytes.push(body.charCodeAt(i));
      i += 1;
    } else if (body[i + 1] === '_') {
      bytes.push(0x5f);
      i += 2;
    } else {
      const hex = body.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 3;
    }
  }
  const name = decodeWtf8(bytes);
  // Only the canonical form decodes: this rejects `_61` for `a`, an unescaped leading `-`, etc.
  return name !== null && refSlug(refType, name) === slug ? { refType, name } : null;
}

function decodeWtf8(bytes: number[]): string | null {
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i]!;
    const length = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
    if (length === 0 || i + length > bytes.length) return null;
    let codePoint = length === 1 ? lead : lead & (0xff >> (length + 1));
    for (let k = 1; k < length; k += 1) {
      const next = bytes[i + k]!;
      if ((next & 0xc0) !== 0x80) return null;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    if (codePoint > 0x10ffff) return null;
    out += String.fromCodePoint(codePoint);
    i += length;
  }
  return out;
}
