/** `owner/name` as GitHub allows it; neither part may start with a dot (no `..`, no hidden dirs). */
export const REPOSITORY_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}\/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/;

export function isRepositoryName(value: string): boolean {
  return REPOSITORY_PATTERN.test(value);
}
