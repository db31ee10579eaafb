import { armRequestContext } from '@bizmon/core/internal';

/**
 * Loading this package's main entry is the app's doing (the preload loads
 * `@bizmon/business/plugin`), and its helpers default to the current request's role: so the
 * request context is armed here, when the app loads, before it serves, and helpers count with
 * the right role from the first request. The request user API is exported here too, for apps
 * that use the helpers without @bizmon/http.
 */
armRequestContext();

export { setRequestUser, currentUserRole, type RequestUser } from '@bizmon/core';
