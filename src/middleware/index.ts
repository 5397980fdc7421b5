// Built-in middleware: `import { cors, basicAuth } from 'switchyard/middleware'`.
// Each is a small module returning a Middleware (src/config/hooks.ts); see the README.
export type { Middleware, Hooks, HookContext } from '../config/hooks.js'
