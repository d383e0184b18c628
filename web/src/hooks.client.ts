// Errors thrown while loading a page (and not handled there) reach the one
// handler, which shows a toast (or sends the browser to sign in).
import type { HandleClientError } from '@sveltejs/kit';
import { errorCode, errorMessage, handleError as report } from '$lib/errors.js';

export const handleError: HandleClientError = ({ error, status, event }) => {
  if (status === 404) return { message: 'Page not found' };
  report(error, event.url);
  return { message: errorMessage(error), code: errorCode(error) };
};
