/** How lists and pages show a boot test's outcome (server-rendered and in the browser alike). */
import type { BootResult } from './build.js';

export function bootLabel(boot: BootResult | null | undefined): string {
  if (!boot) return '';
  return boot.ok ? `boots ✓ ${boot.seconds.toFixed(1)} s` : 'boot failed';
}
