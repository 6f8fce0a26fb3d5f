/** The built-in profiles a config file can start from (their rules: config/profiles.ts). */
export const PROFILE_NAMES = ['zero-os-v1', 'threefold'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** What runs when there is no config file, or a file without `profile` and `repositories`. */
export const DEFAULT_PROFILE: ProfileName = 'zero-os-v1';
