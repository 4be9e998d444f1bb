/**
 * Must be the first import of the page. The page runs under a CSP without
 * 'unsafe-eval'; zod probes `new Function` while schemas are being built
 * (core/api-schemas.ts), which the browser reports as a CSP violation even
 * though zod catches it. `jitless` skips the probe and the generated parsers.
 */
import * as z from 'zod/mini';

z.config({ jitless: true });
