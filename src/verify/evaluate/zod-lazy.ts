import { createRequire } from "node:module"

// The evaluation helpers build their own small schemas only when used, so that importing
// switchboard does not load zod (a pipeline's author loads it anyway, for their own schemas).
let loaded: typeof import("zod") | undefined

/** zod, loaded on first use. */
export const zod = (): typeof import("zod") => (loaded ??= createRequire(import.meta.url)("zod") as typeof import("zod"))
