import { armRequestContext } from '@bizmon/core/internal';

/**
 * The request user API as the app imports it. Loading this package's main entry is the app's
 * doing (the preload loads `@bizmon/http/plugin`), and an app imports @bizmon/http to say who a
 * request's user is: so the request context is armed here, when the app loads, before it serves,
 * and the first authenticated request counts with its role like every other.
 */
armRequestContext();

export { setRequestUser, currentUserRole, type RequestUser } from '@bizmon/core';
