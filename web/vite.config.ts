import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// `vite dev` in web/ proxies the API to a portal on :8080 (EPORTAL_DEV_API to change it).
// The Host header is kept: the portal refuses a browser Origin that is not the Host it was sent to.
const api = process.env.EPORTAL_DEV_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [sveltekit()],
  build: { target: 'es2022', reportCompressedSize: false },
  server: { proxy: { '/graphql': { target: api, ws: true, changeOrigin: false } } },
});
