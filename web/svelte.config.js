// The console: a single-page app (no server rendering) built to static files
// that the portal serves under /admin (server/http/console.ts).
import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  vitePlugin: {
    // runes everywhere in our code; libraries keep their own mode
    dynamicCompileOptions: ({ filename }) => (filename.includes('node_modules') ? undefined : { runes: true }),
  },
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', precompress: true, strict: true }),
    // absolute asset URLs: the same index.html answers every client route at any depth
    paths: { base: '/admin', relative: false },
    appDir: '_app',
    // a <meta> CSP with the hash of the one inline boot script; the server adds frame-ancestors
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        'style-src': ['self', 'unsafe-inline'],
        'img-src': ['self', 'data:'],
        'connect-src': ['self'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self'],
      },
    },
    // the portal and the console ship together; no version polling
    version: { pollInterval: 0 },
  },
};

export default config;
