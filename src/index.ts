// Public API of `switchyard`. No side effects: a config imports this.
export { defineConfig } from './config/define-config.js'
export type * from './config/types.js'
export type * from './config/hooks.js'
