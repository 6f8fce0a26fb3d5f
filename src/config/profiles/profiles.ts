/**
 * Built-in profiles: named sets of repository rules a config file starts from with `profile:`.
 * Its own `repositories:` entries replace a profile's entry of the same name whole, or add one.
 */
import type { RawConfig } from '../schema.js';
import type { ProfileName } from '../profile-names.js';
import { THREEFOLD } from './threefold.js';
import { ZERO_OS_V1 } from './zero-os-v1.js';

export const PROFILES: Record<ProfileName, RawConfig['repositories']> = {
  'zero-os-v1': ZERO_OS_V1,
  threefold: THREEFOLD,
};

/** A fresh copy of a profile's rules, safe to change. */
export function profileRepositories(name: ProfileName): Record<string, unknown> {
  return structuredClone(PROFILES[name]) as Record<string, unknown>;
}
