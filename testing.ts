/**
 * `passport-stepup/testing`: internals for tests (the plugin's own and a host's), never for production
 * code. The public `StepUp` does not hand out its context (it holds key material).
 */
export { internalContextOf } from './index';
export type { StepUpContext } from './lib/context';
