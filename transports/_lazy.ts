/**
 * Errors made only when someone sees them (see `../_lazy.ts`). Private to
 * the socket transports.
 *
 * @module
 */

export { type LazyError, lazyError } from "../_lazy.ts";
