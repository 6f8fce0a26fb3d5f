/**
 * The `autobuilder` command (cli-program.ts). V8's young generation is held at its initial size
 * before the program's modules are even read: reading them alone grew it to 8 MB a semi-space
 * (young-generation.ts); `serve` releases it once the service listens.
 */
import { holdYoungGeneration } from './young-generation.js';

holdYoungGeneration();
await import('./cli-program.js');
